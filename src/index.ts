/** torchnas: neural architecture search for Node.js on LibTorch. */
export { TorchnasError, isTorchnasError } from './core/errors';
export type { TorchnasErrorCode } from './core/errors';
export { info, resolveDevice, manualSeed, setThreads, getThreads } from './core/device';
export type { TorchnasInfo, DeviceSpec } from './core/device';
export { tensor, isTensor, saveTensors, loadTensors } from './core/tensor';
export type { Tensor, TensorData, Dtype } from './core/tensor';
export { Random } from './core/random';
export { Progress } from './core/progress';
export { writeFileAtomic, writeJsonAtomic } from './core/atomic-file';
export { loadYamlConfig, parseYaml, validateConfig } from './config/load';
export { loadFashionMnist, FASHION_MNIST_CLASSES } from './data/fashion-mnist';
export { readIdxFile, parseIdx } from './data/idx';
export { trainDemo } from './methods/demo/train-demo';
export type { TrainDemoOptions, TrainDemoResult } from './methods/demo/train-demo';
export { native } from './native';
