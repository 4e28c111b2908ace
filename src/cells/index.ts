/** Cell search spaces (NAS-Bench-201) and the pruning searches over their supernets. */
export { NB201_OPS, NB201_EDGES, NB201_SIZE, isNb201Op, formatNb201, parseNb201, productIndex, fromProductIndex, nb201Index, fromNb201Index } from './nb201';
export type { Nb201Op, Nb201Genotype } from './nb201';
export { nb201Graph, nb201SupernetGraph, countGraph, NB201_NET_DEFAULTS, NB201_REDUCTION_POOLS } from './nb201-net';
export type { Nb201NetOptions, Nb201SupernetOptions, Nb201EdgeOps, Nb201ReductionPool, GraphCount } from './nb201-net';
export { nb201ProxyGraph, nb201SupernetProxyGraph, runCellProxy, engineOptionsFor } from './lowering';
export { pruneNb201, pruneDarts, TENAS_DARTS_NETS, genotypeFrequencies, edgeName, PRUNE_ALGORITHMS, TENAS_DEFAULTS, pyRound, roundTo } from './prune';
export type { DartsPruneOptions, DartsPruneResult, PruneAlgorithm, PruneOptions, PruneResult, PruneRound, PruneCandidate, PruneProgress, PruneFrequency, TenasSettings } from './prune';
export { PythonRandom } from './python-random';
export { DARTS_OPS, DARTS_STEPS, DARTS_EDGES, DARTS_EDGE_LIST, DARTS_V2, isDartsOp, checkDartsGenotype, formatDartsGenotype, parseDartsGenotype } from './darts';
export type { DartsOp, DartsGene, DartsGenotype } from './darts';
export { dartsSupernetGraph, dartsGenotypeGraph, dartsGenotypeEdges, dartsFullEdges, DARTS_NET_DEFAULTS, TENAS_DARTS_SPACE } from './darts-net';
export type { DartsNetOptions, DartsSupernetOptions, DartsEdgeOps } from './darts-net';
