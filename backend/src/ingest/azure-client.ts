import { AnonymousCredential, ContainerClient, newPipeline, StorageSharedKeyCredential, type RequestPolicy, type RequestPolicyFactory, type StorageRetryOptions, type WebResource } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/core-auth';
import { ImportRefused } from '../security/url-policy';
import type { GuardedAgents } from '../security/guarded-agent';

/**
 * Container clients for watches. Every request the Azure SDK sends (listing, downloads, a
 * redirect it follows) goes out through the import policy's agents, so each connection is checked
 * against the policy at connect time. Connection strings are read here, with errors that say
 * which part is wrong (the SDK's own parser throws without saying).
 */
export interface ParsedConnectionString {
  /** Blob service endpoint, without a trailing slash. */
  endpoint: string;
  accountName: string | null;
  accountKey: string | null;
  sas: string | null;
}

/** Azurite's documented development account (UseDevelopmentStorage=true). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function parseConnectionString(text: string): ParsedConnectionString {
  const fail = (why: string): never => {
    throw new ImportRefused(`"connectionString" is not a storage connection string: ${why}`);
  };
  const parts = new Map<string, string>();
  for (const [i, piece] of text.split(';').map((p) => p.trim()).filter(Boolean).entries()) {
    const eq = piece.indexOf('=');
    // (The part itself is not echoed: it may be a mistyped key.)
    if (eq <= 0) fail(`part ${i + 1} is not a name=value pair`);
    parts.set(piece.slice(0, eq).toLowerCase(), piece.slice(eq + 1));
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return { endpoint: `http://127.0.0.1:10000/${DEV_ACCOUNT}`, accountName: DEV_ACCOUNT, accountKey: DEV_KEY, sas: null };
  const accountName = parts.get('accountname') ?? null;
  const accountKey = parts.get('accountkey') ?? null;
  const sas = parts.get('sharedaccesssignature')?.replace(/^\?/, '') ?? null;
  if (!accountKey && !sas) fail('it has neither AccountKey nor SharedAccessSignature');
  if (accountKey && !accountName) fail('AccountKey needs AccountName');
  if (accountKey && !/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey)) fail('AccountKey is not base64');
  let endpoint = parts.get('blobendpoint');
  if (!endpoint) {
    if (!accountName) fail('it has neither BlobEndpoint nor AccountName');
    const protocol = (parts.get('defaultendpointsprotocol') ?? 'https').toLowerCase();
    if (protocol !== 'https' && protocol !== 'http') fail(`DefaultEndpointsProtocol "${protocol}" is neither https nor http`);
    endpoint = `${protocol}://${accountName}.blob.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
  }
  try {
    new URL(endpoint);
  } catch {
    fail('BlobEndpoint is not a URL');
  }
  return { endpoint: endpoint.replace(/\/+$/, ''), accountName, accountKey, sas };
}

/** A v1 request policy factory (the form the storage SDK's pipeline takes) that hands each request the guarded agent. */
function agentPolicy(agents: GuardedAgents): RequestPolicyFactory {
  return {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request: WebResource) => {
        request.agent = request.url.startsWith('https:') ? agents.https : agents.http;
        return next.sendRequest(request);
      },
    }),
  };
}

export function containerClient(containerUrl: string, credential: StorageSharedKeyCredential | AnonymousCredential | TokenCredential, agents: GuardedAgents, retryOptions?: StorageRetryOptions): ContainerClient {
  const pipeline = newPipeline(credential, { retryOptions });
  pipeline.factories.push(agentPolicy(agents));
  return new ContainerClient(containerUrl, pipeline);
}

/** The container URL (with the SAS, if any) and credential a connection string names. */
export function fromConnectionString(text: string, container: string): { url: string; credential: StorageSharedKeyCredential | AnonymousCredential } {
  const cs = parseConnectionString(text);
  const url = `${cs.endpoint}/${encodeURIComponent(container)}${cs.sas ? `?${cs.sas}` : ''}`;
  if (cs.accountKey && cs.accountName) return { url, credential: new StorageSharedKeyCredential(cs.accountName, cs.accountKey) };
  return { url, credential: new AnonymousCredential() };
}
