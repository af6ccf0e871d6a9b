import type { CaptureParser } from '../capture/reader';
import { keepPace, readCapture, type CaptureInput, type ReadLimits, type ReadResult } from '../capture/source';
import type { PacketHandler } from '../capture/types';
import type { CapsightError } from '../errors';
import { FlowAssembler, type AssemblerOptions } from './assembler';
import type { TrafficStats } from './stats';

export { FlowAssembler, type FlowAddressWords } from './assembler';
export type { TrafficStats } from './stats';

/** The assembler's options (flows/assembler.ts: onFlow, addressText, buckets, timeouts), and the reading's. */
export interface AnalyzeOptions extends AssemblerOptions {
  name?: string;
  onProgress?: (inputBytes: number) => void;
  /**
   * Called between input chunks and between batches of the flows emitted at the end; a returned
   * promise holds the engine until it settles (back-pressure from a slow consumer of onFlow).
   */
  pace?: () => Promise<void> | undefined;
  /** Caps on the capture's size after decompression and its packets (CAPTURE_TOO_LARGE past them). */
  limits?: ReadLimits;
  /** Receives where every packet's record lies and its flow (the packet archive's index). */
  placement?: PacketPlacement;
}

/** Where a packet's record lies in the (decompressed) capture, and the flow it went to (-1: none). */
export interface PacketPlacement {
  add(offset: number, length: number, flowId: number, sec: number, ns: number): void;
}

/** The assembler, then the packet's place: record position from the parser, flow from the assembler. */
class PlacingHandler implements PacketHandler {
  parser: CaptureParser | null = null;

  constructor(
    private readonly assembler: FlowAssembler,
    private readonly placement: PacketPlacement,
  ) {}

  packet(data: Uint8Array, off: number, capLen: number, origLen: number, linkType: number, time: Float64Array): void {
    this.assembler.packet(data, off, capLen, origLen, linkType, time);
    const p = this.parser as CaptureParser;
    this.placement.add(p.deliveredOffset, p.deliveredLength, this.assembler.lastFlowId, time[0], time[1]);
  }
}

/** Flows emitted at the end of input between two pace() calls. */
const FINISH_BATCH = 2048;

export interface AnalyzeResult {
  read: ReadResult;
  stats: TrafficStats;
  /** Reader and decoder problems by kind. */
  problems: Map<string, number>;
  /** Truncation/corruption that stopped reading (flows before it were emitted). */
  damage: CapsightError | null;
}

/** The engine in one call: capture (path, "-", or stream) -> flows and bucket rows. */
export async function analyzeCapture(input: string | CaptureInput, options: AnalyzeOptions): Promise<AnalyzeResult> {
  const assembler = new FlowAssembler(options);
  const { pace } = options;
  const placing = options.placement ? new PlacingHandler(assembler, options.placement) : null;
  const read = await readCapture(input, placing ?? assembler, {
    name: options.name,
    onProgress: options.onProgress,
    pace,
    limits: options.limits,
    onParser: placing ? (p) => (placing.parser = p) : undefined,
  });
  const steps = assembler.finishing(pace ? FINISH_BATCH : Infinity);
  while (!steps.next().done) await keepPace(pace);
  const problems = new Map(read.problems);
  for (const [k, v] of assembler.problemCounts()) problems.set(k, v);
  return { read, stats: assembler.stats, problems, damage: read.damage };
}
