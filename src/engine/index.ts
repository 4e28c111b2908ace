/** The native Zen-score engine (typed wrapper). */
export * from './engine';
export { loadNative, packageRoot } from './native';
export type { NativeAddon } from './native';
