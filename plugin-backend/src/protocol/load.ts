import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { CONTROLLER_PROTO, HEALTH_PROTO, PLUGINV2_PROTO } from './definitions';

/**
 * The services as grpc-js definitions, parsed from the definitions' text at start-up (the plugin is
 * one bundled file: no .proto files to find on disk). int64 fields arrive as numbers (epoch ms and
 * ids fit in 2^53), enums as their names, bytes as Buffers.
 */
const OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

function load(text: string): grpc.GrpcObject {
  const root = protobuf.parse(text, { keepCase: true }).root;
  return grpc.loadPackageDefinition(protoLoader.fromJSON(root.toJSON(), OPTIONS));
}

type Services = Record<string, { service: grpc.ServiceDefinition }>;

export function serviceDefinitions(): { pluginv2: Services; health: Services; controller: Services } {
  const v2 = load(PLUGINV2_PROTO).pluginv2 as unknown as Services;
  const health = ((load(HEALTH_PROTO).grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as unknown as Services;
  const controller = load(CONTROLLER_PROTO).plugin as unknown as Services;
  return { pluginv2: v2, health, controller };
}
