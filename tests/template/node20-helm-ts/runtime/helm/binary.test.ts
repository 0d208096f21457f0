import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { resolveHelmBinary } from '#runtime/helm/binary.js';

describe('resolveHelmBinary', () => {
  const devCopy = fileURLToPath(new URL('../../../../../.tools/bin/helm', import.meta.url));

  test('HELM_BINARY wins', () => {
    expect(resolveHelmBinary({ helmBinary: '/opt/helm' })).toBe('/opt/helm');
  });

  test('then the copy unpacked into <repo root>/.tools/bin', () => {
    expect(existsSync(devCopy)).toBe(true);
    expect(resolveHelmBinary({})).toBe(devCopy);
  });

  test('then helm from PATH', () => {
    expect(resolveHelmBinary({}, '/nonexistent/helm')).toBe('helm');
  });
});
