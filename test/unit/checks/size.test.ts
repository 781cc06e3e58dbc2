import { describe, expect, it } from 'vitest';
import { cleanBuildStep, layerSteps } from '../../../src/checks/size.js';

describe('cleanBuildStep', () => {
  it('shows steps as docker history does', () => {
    expect(cleanBuildStep('/bin/sh -c npm install')).toBe('RUN npm install');
    expect(cleanBuildStep('/bin/sh -c #(nop) COPY dir:abc in /app ')).toBe('COPY dir:abc in /app');
    expect(cleanBuildStep('RUN /bin/sh -c apt-get update # buildkit')).toBe('RUN apt-get update');
    expect(cleanBuildStep('COPY . /src # buildkit')).toBe('COPY . /src');
    expect(cleanBuildStep(undefined)).toBeUndefined();
    expect(cleanBuildStep(`RUN ${'x'.repeat(300)}`)).toHaveLength(120);
  });
});

describe('layerSteps', () => {
  it('skips empty_layer entries so history lines map to layers', () => {
    const history = [
      { created_by: 'ADD rootfs /' },
      { created_by: 'ENV A=1', empty_layer: true },
      { created_by: '/bin/sh -c npm install' },
      { created_by: 'CMD ["node"]', empty_layer: true },
    ];
    expect(layerSteps(history, 2)).toEqual(['ADD rootfs /', 'RUN npm install']);
  });

  it('gives up (undefined steps) when history and layers disagree', () => {
    expect(layerSteps([{ created_by: 'ADD x /' }], 2)).toEqual([undefined, undefined]);
    expect(layerSteps(undefined, 1)).toEqual([undefined]);
  });
});
