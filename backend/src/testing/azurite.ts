import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential, generateBlobSASQueryParameters, ContainerSASPermissions, BlobSASPermissions, SASProtocol } from '@azure/storage-blob';

/** The emulator's well-known development account and its documented key (not a secret). */
export const ACCOUNT = 'devstoreaccount1';
export const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  port: number;
  endpoint: string;
  service: BlobServiceClient;
  /** A SAS URL for one blob (read) or a container (read + list). */
  blobSasUrl(container: string, blob: string): string;
  containerSasUrl(container: string): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts the real Azurite blob service (npm package) on 127.0.0.1, in memory. */
export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const main = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  const child: ChildProcess = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--inMemoryPersistence', '--disableTelemetry', '--skipApiVersionCheck', '--loose'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('Azurite did not start within 20 s'));
    }, 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (/successfully listens on|listening at/i.test(d.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`Azurite exited with ${code}`)));
  });
  const endpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
  const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);
  const service = new BlobServiceClient(endpoint, cred);
  const expiresOn = new Date(Date.now() + 3600_000);
  return {
    port,
    endpoint,
    service,
    blobSasUrl(container, blob) {
      const sas = generateBlobSASQueryParameters({ containerName: container, blobName: blob, permissions: BlobSASPermissions.parse('r'), expiresOn, protocol: SASProtocol.HttpsAndHttp }, cred);
      return `${endpoint}/${container}/${blob.split('/').map(encodeURIComponent).join('/')}?${sas.toString()}`;
    },
    containerSasUrl(container) {
      const sas = generateBlobSASQueryParameters({ containerName: container, permissions: ContainerSASPermissions.parse('rl'), expiresOn, protocol: SASProtocol.HttpsAndHttp }, cred);
      return `${endpoint}/${container}?${sas.toString()}`;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
