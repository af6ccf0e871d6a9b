import * as grpc from '@grpc/grpc-js';
import type { Context } from './context';
import { serviceDefinitions } from './protocol/load';
import type { CallResourceRequest, CheckHealthRequest, QueryDataRequest } from './protocol/messages';
import { collectMetrics, checkHealth } from './services/diagnostics';
import { queryData } from './services/data';
import { callResource } from './services/resource';

/**
 * The gRPC server Grafana talks to: the plugin protocol's Data, Diagnostics and Resource services,
 * go-plugin's health service (the host's ping: service "plugin" is SERVING) and its controller
 * (Shutdown: the host's polite request to stop before it kills the process).
 */

/** Grafana's frames and resource answers can be large (a 10,000-row flow page): no send limit; requests up to 64 MiB. */
const SERVER_OPTIONS: grpc.ServerOptions = { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 64 * 1024 * 1024 };

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/** An AbortSignal that fires when Grafana cancels the call or its deadline passes. */
function callSignal(call: AnyCall): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  call.on('cancelled', abort);
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  const timer = Number.isFinite(at) ? setTimeout(abort, Math.max(0, at - Date.now())) : undefined;
  return {
    signal: controller.signal,
    done: () => {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', abort);
    },
  };
}

function internal(e: unknown): grpc.ServiceError {
  return Object.assign(new Error((e as Error)?.message ?? String(e)), { code: grpc.status.INTERNAL, details: (e as Error)?.message ?? String(e), metadata: new grpc.Metadata() });
}

function unary<Req, Res>(ctx: Context, method: string, handler: (req: Req, signal: AbortSignal) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { signal, done } = callSignal(call as AnyCall);
    handler(call.request, signal).then(
      (res) => {
        done();
        ctx.metrics.calls.inc({ method, outcome: signal.aborted ? 'cancelled' : 'ok' });
        callback(null, res);
      },
      (e: unknown) => {
        done();
        ctx.metrics.calls.inc({ method, outcome: 'error' });
        ctx.log.error(`${method} failed`, { error: (e as Error)?.message ?? String(e) });
        callback(internal(e));
      },
    );
  };
}

export function createServer(ctx: Context, onShutdownRequest: () => void): grpc.Server {
  const defs = serviceDefinitions();
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(defs.pluginv2.Data.service, {
    QueryData: unary<QueryDataRequest, unknown>(ctx, 'QueryData', (req, signal) => queryData(ctx, req, signal)),
  });
  server.addService(defs.pluginv2.Diagnostics.service, {
    CheckHealth: unary<CheckHealthRequest, unknown>(ctx, 'CheckHealth', (req, signal) => checkHealth(ctx, req, signal)),
    CollectMetrics: unary<unknown, unknown>(ctx, 'CollectMetrics', () => collectMetrics(ctx)),
  });
  server.addService(defs.pluginv2.Resource.service, {
    CallResource: (call: grpc.ServerWritableStream<CallResourceRequest, unknown>) => {
      const { signal, done } = callSignal(call as AnyCall);
      callResource(ctx, call.request, signal).then(
        (messages) => {
          done();
          ctx.metrics.calls.inc({ method: 'CallResource', outcome: 'ok' });
          for (const m of messages) call.write(m);
          call.end();
        },
        (e: unknown) => {
          done();
          ctx.metrics.calls.inc({ method: 'CallResource', outcome: 'error' });
          ctx.log.error('CallResource failed', { path: call.request.path, error: (e as Error)?.message ?? String(e) });
          call.destroy(internal(e));
        },
      );
    },
  });
  server.addService(defs.health.Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const service = call.request.service;
      if (service === '' || service === 'plugin') callback(null, { status: 'SERVING' });
      else callback(Object.assign(new Error(`unknown service ${service}`), { code: grpc.status.NOT_FOUND }));
    },
  });
  server.addService(defs.controller.GRPCController.service, {
    Shutdown: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, {});
      setImmediate(onShutdownRequest);
    },
  });
  return server;
}
