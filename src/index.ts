/** torchnas: neural architecture search for Node.js on LibTorch. */
export { TorchnasError, isTorchnasError } from './core/errors';
export type { TorchnasErrorCode } from './core/errors';
export { info, resolveDevice, manualSeed, setThreads, getThreads } from './core/device';
export type { TorchnasInfo, DeviceSpec } from './core/device';
export type { OpenBlasInfo } from './native';
export { tensor, isTensor, saveTensors, loadTensors } from './core/tensor';
export type { Tensor, TensorData, Dtype } from './core/tensor';
export { Random } from './core/random';
export { Progress, progressBar } from './core/progress';
export type { ProgressCallback } from './core/progress';
export { writeFileAtomic, writeJsonAtomic, cleanStaleTemps } from './core/atomic-file';
export { loadYamlConfig, parseYaml, validateConfig } from './config/load';
export { loadFashionMnist, FASHION_MNIST_CLASSES } from './data/fashion-mnist';
export { readIdxFile, parseIdx } from './data/idx';
export { trainDemo } from './methods/demo/train-demo';
export type { TrainDemoOptions, TrainDemoResult } from './methods/demo/train-demo';
export { trainNcpPredictor } from './methods/ncp/train';
export type { TrainPredictorOptions, TrainPredictorResult } from './methods/ncp/train';
export { propagateNcp, NCP_DEFAULT_START } from './methods/ncp/propagate';
export type { PropagateOptions, PropagateResult } from './methods/ncp/propagate';
export { loadNcpConfig } from './methods/ncp/config';
export type { NcpConfig } from './methods/ncp/config';
export { countCosts } from './methods/ncp/costs';
export { runTenasSearch, runTenasCorrelate, runTenasScore, scoreOptionsFrom } from './methods/tenas/run';
export type { RunOptions, TenasSearchReport, TenasScoreReport, CorrelationReport } from './methods/tenas/run';
export { searchNb201, searchDarts, searchPruning } from './methods/tenas/search';
export type { SearchSettings, SearchOptions, SearchResult, RoundReport, CandidateScore } from './methods/tenas/search';
export { scoreArchitecture } from './methods/tenas/score';
export type { ScoreOptions, ArchitectureScore } from './methods/tenas/score';
export { openInputSource, parseInputSource } from './data/input-source';
export { loadTenasConfig, defaultTenasConfig, tenasConfigSchema } from './methods/tenas/config';
export type { TenasConfig, TenasConfigOverrides } from './methods/tenas/config';
export { openNb201Table, lookupNb201 } from './benchmarks/nb201-lookup';
export * as nb201 from './spaces/nb201';
export * as darts from './spaces/darts';
export * as nasbenchMr from './spaces/nasbench-mr';
export * as densenas from './spaces/densenas';
export * as densenasLut from './benchmarks/densenas-lut';
export { buildLut, checkLut, showLut } from './methods/densenas/lut';
export type { BuildLutOptions, BuildLutResult, CheckLutOptions, CheckLutResult, LutSummary } from './methods/densenas/lut';
export { loadNasBenchMrTable, loadSearchList } from './benchmarks/nasbench-mr';
export { loadNb201Table } from './benchmarks/nb201-table';
export { parsePickle, readPickleFile } from './benchmarks/pickle';
export { resolveTablePath, torchnasHome } from './benchmarks/table-names';
export type { ResolveTableOptions } from './benchmarks/table-names';
export { tableCatalog } from './benchmarks/catalog';
export type { TableEntry, TableKind, CatalogOptions } from './benchmarks/catalog';
export { fetchTable } from './benchmarks/fetch-table';
export type { FetchTableOptions, FetchTableResult } from './benchmarks/fetch-table';
export { listTables, verifyTables } from './benchmarks/table-store';
export type { TableListing, VerifyRow } from './benchmarks/table-store';
export { kendallTau, spearman } from './core/stats';
export { RESULT_FILE } from './report/envelope';
export type { ResultEnvelope, RunStatus } from './report/envelope';
export { EVENTS_FILE, RunEventLog, parseEvents } from './report/events';
export type { RunEvent, StartEvent, ProgressEvent, RecordEvent, EndEvent, RunRecordCallback } from './report/events';
export { startDashboard } from './dashboard/server';
export type { Dashboard, DashboardOptions } from './dashboard/server';
export { exportDashboard } from './dashboard/export';
export { registerMethod } from './dashboard/plots';
export type { PlotSpec, MethodView } from './dashboard/plots';
export { runDenseSearch, derivedCost, SEARCH_FILES } from './methods/densenas/search';
export type { DenseSearchOptions, DenseSearchResult, DenseEpochRecord } from './methods/densenas/search';
export { trainDerivedNet, readDerived } from './methods/densenas/train';
export type { DenseTrainOptions, DenseTrainResult } from './methods/densenas/train';
export { createSuperNet, searchSettings, nativeCosts, archParametersOf } from './methods/densenas/supernet';
export * as nb101 from './spaces/nb101';
export * as nar from './spaces/nar';
export { TierBuckets, NAR_NUM_TIERS } from './methods/nar/tier-buckets';
export type { TierBucketsOptions, TierCounts } from './methods/nar/tier-buckets';
export { runNarSearch, narSearchSvg, writeNarSearchFiles, NAR_SEARCH_FILES, sampleConstrained, narBatchSamplers } from './methods/nar/search';
export type { NarSearchOptions, NarSearchResult, NarSearchIteration, NarSearchPick, NarTopK, NarSearchSummary, NarIterationStatus } from './methods/nar/search';
export { nb201SearchBenchmark, nb101SearchBenchmark } from './methods/nar/search-benchmark';
export type { NarSearchBenchmark, NarNb201NetworkType } from './methods/nar/search-benchmark';
export {
  batchTierStatistics,
  countsHistogram,
  narKlDivergence,
  selectTierDistribution,
  narSamplerConfig,
  NarValueSampler,
  NAR_NB201_SAMPLER,
  NAR_NB101_SAMPLER,
} from './methods/nar/distribution';
export type { NarHistogram, NarTierStatistics, NarSamplerConfig, NarDistributionChoice } from './methods/nar/distribution';
export type { NarBatchRecord, NarSearchRanker } from './methods/nar/types';
export {
  buildNb201CellDataset,
  regenerateNb201CellDataset,
  writeNb201CellDataset,
  serializeNb201CellDataset,
  pythonFloatText,
  nb201CellInfoRecord,
  nb201CellAdjacency,
  NAR_NB201_NETWORKS,
  NAR_NB201_CELL_KEYS,
  NAR_NB201_MEASURE_FIELDS,
} from './benchmarks/nar-nb201-dataset';
export type {
  Nb201CellInfoRecord,
  Nb201CellInfoMeasures,
  Nb201CellInfoRecords,
  Nb201CellCosts,
  NarNb201Network,
  BuildNb201CellDatasetOptions,
  WrittenNb201CellDataset,
  RegeneratedNb201CellDataset,
  FloatStyle,
  SerializeOptions,
} from './benchmarks/nar-nb201-dataset';
export { readNb201CellInfo, streamNb201CellInfo, checkNb201CellInfoRecord, rankNb201CellInfo } from './benchmarks/nar-nb201-reader';
export type { Nb201CellInfoEntry, Nb201CellInfoRanks } from './benchmarks/nar-nb201-reader';
export { readNb101CellInfo, streamNb101CellInfo, checkNb101CellInfoRecord } from './benchmarks/nar-nb101-reader';
export type { Nb101CellInfoRecord, Nb101CellInfoEntry, ReadNb101CellInfoOptions } from './benchmarks/nar-nb101-reader';
export { streamJsonElements } from './benchmarks/json-stream';
export type { JsonElement, JsonStreamOptions } from './benchmarks/json-stream';
export { trainNarRanker, evaluateNarRanker, narSplit, epochOrder } from './methods/nar/train';
export type { TrainNarOptions, TrainNarResult, EvaluateNarOptions, EvaluateNarResult, NarEvaluation, NarSplit } from './methods/nar/train';
export { loadNarRanker, NarRankerModel, narRankerOptions, readNarManifest } from './methods/nar/ranker';
export { searchNarCheckpoint, narSearchBenchmarkFor } from './methods/nar/run-search';
export type { SearchNarCheckpointOptions } from './methods/nar/run-search';
export type { NarManifest, NarCheckpointMeta, NarEpochRow } from './methods/nar/ranker';
export { loadNarConfig, narConfigSchema } from './methods/nar/config';
export type { NarConfig, NarConfigInput } from './methods/nar/config';
export { loadNarDataset, narDatasetFromNb201, narDatasetFromNb101, narDatasetFromRecords } from './methods/nar/data';
export type { NarDataset, NarUserRecord, NarArchitecture, NarSpace, NarNetworkType } from './methods/nar/data';
export { tierLabels, tierMetrics, rankingMetrics, argmaxRows } from './methods/nar/metrics';
export type { TierMetrics, RankingMetrics, TopKHit } from './methods/nar/metrics';
