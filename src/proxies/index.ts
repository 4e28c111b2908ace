/** Zero-shot proxies: the table, the lowerings they need, scoring a structure with them. */
export { PROXY_TABLE, PROXY_NAMES, proxySpec, proxyImages } from './table';
export type { ProxyName, ProxySpec, ProxyLowering } from './table';
export { lowerForProxy, appendHead, bnToIdentity } from './lowering';
export type { ProxyLowerOptions } from './lowering';
export { scoreProxies, parseProxyList } from './score';
export type { ProxyScore, ProxyScoreOptions } from './score';
