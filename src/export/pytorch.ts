/**
 * `zennas export --format pytorch`: the network as trained (residual links, projections, SE,
 * classifier) as one self-contained Python file defining an `nn.Module` — it imports torch and
 * nothing else, and loads no weights (PyTorch's own initialisation; train it as any module). The
 * module mirrors the graph op for op, so a parameter count equals `zennas info` and, with the same
 * weights, its eval forward equals the ONNX export's (test/pytorch-export.test.ts checks both).
 *
 * Parameter names are `n{i}.weight` / `n{i}.bias` (and BN's running statistics) for graph node i,
 * the names `state_dict()` shows; the engine's Philox weights map onto them one to one.
 */
import { ZennasError } from '../errors';
import { DecodedNode, decodeDescriptor, checkTrainedView } from '../ops/descriptor';
import { attrValue, inferGraph, Graph } from '../ops/graph';
import { packageVersion } from '../util/package';
import { checkPositive, describe, optionError } from '../util/validate';

/** Options of `exportPytorch`: class name, docstring, BN ε, and the scoring-view escape hatch. */
export interface PytorchExportOptions {
  /** Name of the nn.Module class (a Python identifier; default `ZenNet`). */
  className?: string;
  /** The structure text, written into the file's docstring. */
  docString?: string;
  /** BN ε of every BatchNorm2d (default 1e-5, the engine's). */
  bnEps?: number;
  /** Export a scoring view on purpose (refused otherwise, as for ONNX). */
  scoringView?: boolean;
}

const pyString = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Python one

/** Python source of the module for a descriptor (the as-trained network: lowerAsTrained). */
export function exportPytorch(descriptor: Int32Array, options: PytorchExportOptions = {}): string {
  if (!(descriptor instanceof Int32Array)) throw new ZennasError('E_DESCRIPTOR', 'invalid descriptor: expected an Int32Array');
  if (options === null || typeof options !== 'object') optionError('pytorch export options must be an object');
  checkTrainedView(descriptor, 'export', options.scoringView);
  const className = options.className ?? 'ZenNet';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(className)) optionError(`className must be a Python identifier, got ${describe(className)}`);
  const bnEps = checkPositive('bnEps', options.bnEps ?? 1e-5);
  const net = decodeDescriptor(descriptor);
  const graph: Graph = { inputChannels: net.inputChannels, nodes: net.nodes.map((n) => ({ ...n, block: 0, role: 'main' as const })), outputs: [...net.outputs] };
  inferGraph(graph, 1024); // the structure checks (E_DESCRIPTOR naming the node); the module itself takes any H, W
  // The classifier: a LINEAR whose output is the network output takes `num_classes`.
  const head = net.nodes.findIndex((n, i) => n.op === 'linear' && net.outputs.includes(i + 1));
  const numClasses = head >= 0 ? net.nodes[head]!.cout : 0;
  const init: string[] = [];
  const fwd: string[] = [];
  const v = (id: number) => `v${id}`;
  net.nodes.forEach((n: DecodedNode, i) => {
    const name = `self.n${i}`;
    const cin = n.inputs[0] === 0 ? 'in_channels' : String(n.cin);
    const cout = i === head ? 'num_classes' : String(n.cout);
    const x = v(n.inputs[0]!);
    const pad = (n.kernel - 1) >> 1;
    let expr: string;
    switch (n.op) {
      case 'conv':
        init.push(`${name} = nn.Conv2d(${cin}, ${n.cout}, ${n.kernel}, stride=${n.stride}, padding=${pad}, bias=False)`);
        expr = `${name}(${x})`;
        break;
      case 'dwconv':
        init.push(`${name} = nn.Conv2d(${n.cout}, ${n.cout}, ${n.kernel}, stride=${n.stride}, padding=${attrValue(n as never, 'pad')}, ${attrValue(n as never, 'dilation') > 1 ? `dilation=${attrValue(n as never, 'dilation')}, ` : ''}groups=${n.cout}, bias=False)`);
        expr = `${name}(${x})`;
        break;
      case 'bn':
        init.push(`${name} = nn.BatchNorm2d(${n.cout}, eps=${bnEps})`);
        expr = `${name}(${x})`;
        break;
      case 'linear':
        init.push(`${name} = nn.Linear(${n.cin}, ${cout}, bias=${attrValue(n as never, 'bias') === 1 ? 'True' : 'False'})`);
        expr = `${name}(${x}.flatten(1))[:, :, None, None]`; // the graph keeps [C][1][1]
        break;
      case 'relu': expr = `F.relu(${x})`; break;
      case 'sigmoid': expr = `torch.sigmoid(${x})`; break;
      case 'swish': expr = `F.silu(${x})`; break;
      case 'hswish': expr = `F.hardswish(${x})`; break;
      case 'hsigmoid': expr = `F.hardsigmoid(${x})`; break;
      case 'identity': expr = x; break;
      case 'zero': expr = `torch.zeros_like(${x})`; break;
      case 'maxpool': expr = `F.max_pool2d(${x}, ${n.kernel}, stride=${n.stride}, padding=${pad})`; break;
      case 'avgpool': expr = `F.avg_pool2d(${x}, ${n.kernel}, stride=${n.stride}, padding=${attrValue(n as never, 'pad')}, count_include_pad=${attrValue(n as never, 'countIncludePad') === 1 ? 'True' : 'False'})`; break;
      case 'gap': expr = `F.adaptive_avg_pool2d(${x}, 1)`; break;
      case 'mul': expr = `${x} * ${v(n.inputs[1]!)}`; break; // the gate [N][C][1][1] broadcasts
      case 'add': expr = n.inputs.map(v).join(' + '); break;
      case 'concat': expr = `torch.cat([${n.inputs.map(v).join(', ')}], dim=1)`; break;
      case 'crop': {
        const o = attrValue(n as never, 'offset'), cropped = `${x}[:, :, ${o}:, ${o}:]`;
        expr = attrValue(n as never, 'fill') === 1 ? `F.pad(${cropped}, (0, ${o}, 0, ${o}))` : cropped;
        break;
      }
      default: throw new ZennasError('E_INTERNAL', `pytorch export: no mapping for op '${(n as { op: string }).op}'`);
    }
    fwd.push(`${v(i + 1)} = ${expr}`);
  });
  const outs = net.outputs.map((o) => (o === head + 1 && head >= 0 ? `${v(o)}.flatten(1)` : v(o)));
  const doc = options.docString ? `\n\n    Structure: ${options.docString}` : '';
  const lines = [
    `# Generated by zennas ${packageVersion()} (zennas export --format pytorch). Self-contained: needs torch only.`,
    '# The network as trained: residual links, projections, SE and classifier; PyTorch\'s own initialisation.',
    'import torch',
    'import torch.nn as nn',
    'import torch.nn.functional as F',
    '',
    '',
    `class ${className}(nn.Module):`,
    `    """${className}: ${net.nodes.length} ops, input [N, ${net.inputChannels}, H, W]${numClasses ? `, output [N, num_classes]` : ', output the last feature map'}.${doc.replace(/"""/g, '')}"""`,
    '',
    `    def __init__(self, num_classes: int = ${numClasses}, in_channels: int = ${net.inputChannels}):`,
    '        super().__init__()',
    ...(numClasses ? [] : ['        del num_classes  # this network has no classifier']),
    ...init.map((l) => `        ${l}`),
    '',
    '    def forward(self, v0: torch.Tensor) -> torch.Tensor:',
    ...fwd.map((l) => `        ${l}`),
    `        return ${outs.length === 1 ? outs[0] : `(${outs.join(', ')})`}`,
    '',
    '',
    `STRUCTURE = ${pyString(options.docString ?? '')}`,
    '',
    '',
    "if __name__ == '__main__':",
    `    net = ${className}()`,
    "    print(f'{sum(p.numel() for p in net.parameters()):,} parameters')",
    '',
  ];
  return lines.join('\n');
}
