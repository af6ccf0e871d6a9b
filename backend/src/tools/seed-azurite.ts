import { BlobSASPermissions, BlobServiceClient, SASProtocol, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { demoCapture } from '../ingest/demo';
import { ACCOUNT, KEY } from '../testing/azurite';

/**
 * Docker demo: puts a generated capture into Azurite under Network Watcher's path layout and
 * prints a read SAS URL to paste into the Captures page ("import by URL").
 *   node backend/dist/tools/seed-azurite.js http://azurite:10000/devstoreaccount1
 */
const BLOB = 'subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/demo-rg/providers/microsoft.compute/virtualmachines/demo-vm/2026/01/01/packetcapture_00_00_00_000.cap';

async function main(): Promise<void> {
  const endpoint = process.argv[2] ?? `http://127.0.0.1:10000/${ACCOUNT}`;
  const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);
  const container = new BlobServiceClient(endpoint, cred).getContainerClient('network-watcher-logs');
  for (let attempt = 1; ; attempt++) {
    try {
      await container.createIfNotExists();
      break;
    } catch (err) {
      if (attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, 1000)); // Azurite still starting
    }
  }
  const { data } = demoCapture(8_000_000);
  await container.getBlockBlobClient(BLOB).uploadData(data);
  const sas = generateBlobSASQueryParameters(
    { containerName: 'network-watcher-logs', blobName: BLOB, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 30 * 86400_000), protocol: SASProtocol.HttpsAndHttp },
    cred,
  );
  process.stdout.write(`demo capture uploaded; import it from the Captures page with:\n${endpoint}/network-watcher-logs/${BLOB}?${sas.toString()}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`seed-azurite: ${(err as Error).message}\n`);
  process.exit(1);
});
