/**
 * Layering rules (docs/ARCHITECTURE.md): arrows point from cli toward core only.
 * core and chunking are pure: no node:* built-ins, nothing else of ferry.
 */
const layer = (name) => `^src/${name}/`;
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'src/core imports nothing but itself: no I/O, no clock, no other layer.',
      severity: 'error',
      from: { path: layer('core') },
      to: { pathNot: layer('core') },
    },
    {
      name: 'chunking-is-pure',
      comment: 'src/chunking may use core and a hash function injected by callers, nothing else.',
      severity: 'error',
      from: { path: layer('chunking') },
      to: { pathNot: `${layer('chunking')}|${layer('core')}` },
    },
    {
      name: 'protocol-has-no-io',
      comment: 'src/protocol encodes, frames and validates; sockets and files live in adapters.',
      severity: 'error',
      from: { path: layer('protocol') },
      to: {
        pathNot: `${layer('protocol')}|${layer('core')}|${layer('ports')}|node_modules/msgpackr|^node:buffer$|^buffer$`,
      },
    },
    {
      name: 'ports-are-interfaces',
      severity: 'error',
      from: { path: layer('ports') },
      to: { pathNot: `${layer('ports')}|${layer('core')}` },
    },
    {
      name: 'inner-layers-do-not-reach-out',
      comment: 'scan/apply/engine work through ports; they never import adapters, api or cli.',
      severity: 'error',
      from: { path: '^src/(scan|apply|engine)/' },
      to: { path: '^src/(adapters|api|cli)/' },
    },
    {
      name: 'adapters-below-api',
      severity: 'error',
      from: { path: layer('adapters') },
      to: { path: '^src/(api|cli)/' },
    },
    {
      name: 'api-below-cli',
      severity: 'error',
      from: { path: layer('api') },
      to: { path: layer('cli') },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
    exclude: { path: '\\.test\\.ts$' },
  },
};
