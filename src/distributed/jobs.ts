/**
 * The job kinds a `torchnas worker` runs, by name. Each handler takes a job's JSON payload (everything the job
 * needs) and returns its JSON result; the same function computes the result of a local run.
 */
import { DENSENAS_TRAIN_JOB, runDenseTrainJob } from '../methods/densenas/top-k';
import { NCP_TRAIN_JOB, runNcpTrainJob } from '../methods/ncp/seeds';
import { runCandidateJob, runCorrelationJob, TENAS_CANDIDATE_JOB, TENAS_CORRELATE_JOB } from '../methods/tenas/run';
import { JobHandler } from './queue';

export const JOB_HANDLERS: Readonly<Record<string, JobHandler>> = Object.freeze({
  [TENAS_CORRELATE_JOB]: (payload, { signal }) => runCorrelationJob(payload, { signal }),
  [TENAS_CANDIDATE_JOB]: (payload, { signal }) => runCandidateJob(payload, { signal }),
  [DENSENAS_TRAIN_JOB]: (payload, { signal }) => runDenseTrainJob(payload, { signal }),
  [NCP_TRAIN_JOB]: (payload, { signal }) => runNcpTrainJob(payload, { signal }),
});
