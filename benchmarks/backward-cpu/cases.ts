/** The backward benchmark's nets (run.ts, profile.ts): as trained (residual links, classifier head). */
import * as fs from 'fs';
import * as path from 'path';
import { spaceI } from '../../src/spaces/space-i';
import { RESNET18 } from '../zen-score-cpu/run';

export interface Case { key: string; name: string; structure: string; batch: number; resolution: number; classes: number }
const ROOT = path.resolve(__dirname, '../..');
const zoo = (f: string) => fs.readFileSync(path.join(ROOT, 'test/fixtures/zennets', f), 'utf8').trim();
export const CASES: Case[] = [
  { key: 'resnet18', name: 'ResNet-18', structure: RESNET18, batch: 16, resolution: 224, classes: 1000 },
  { key: 'zennet1M', name: 'ZenNet CIFAR 1M', structure: zoo('zennet_cifar_model_size1M_res32.txt'), batch: 64, resolution: 32, classes: 100 },
  { key: 'spaceI', name: 'Space-I CIFAR initial net', structure: spaceI.presets.cifar!.initial, batch: 64, resolution: 32, classes: 100 },
];
