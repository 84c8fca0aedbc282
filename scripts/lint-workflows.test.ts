import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without type declarations
import { lintWorkflow } from './lint-workflows.mjs';

describe('the workflow check', () => {
  it('finds what actionlint finds (an undefined context property, a bad runner), and takes the current runner labels', async () => {
    const bad = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-16.04\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n';
    const found = (await lintWorkflow(bad, 'bad.yml')) as { kind: string; line: number }[];
    expect(found.map((r) => r.kind).sort()).toEqual(['expression', 'runner-label']);
    const good = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.sha }}\n';
    expect(await lintWorkflow(good, 'good.yml')).toEqual([]);
  });
});
