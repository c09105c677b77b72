import { LatheError, isLatheError } from '../api/common/errors.js'
import type { ModelSignature } from '../api/common/signature.js'
import { MicroBatcher, defaultBatching, type BatchingOptions } from './batcher.js'
import { LoadedModel, versionKey, type BatchOutputs, type InputBatch } from './loaded-model.js'
import type { AliasMoved, ModelResolver } from './resolver.js'

/** A loaded version with its batcher, counted while requests use it so a swapped-out one is released only when idle. */
export class ServedVersion {
  inflight = 0
  private retired = false
  private released = false

  constructor(
    readonly loaded: LoadedModel,
    readonly batcher: MicroBatcher,
  ) {}

  get model(): string {
    return this.loaded.source.model
  }
  get version(): number {
    return this.loaded.source.version
  }
  get signature(): ModelSignature {
    return this.loaded.signature
  }
  get isReleased(): boolean {
    return this.released
  }

  async predict(batch: InputBatch): Promise<BatchOutputs> {
    this.inflight++
    try {
      return await this.batcher.predict(batch)
    } finally {
      this.inflight--
      if (this.retired && this.inflight === 0) void this.release()
    }
  }

  /** No new requests will be routed here; the session goes once the last one in flight is answered. */
  retire(): void {
    this.retired = true
    if (this.inflight === 0) void this.release()
  }

  private async release(): Promise<void> {
    if (this.released) return
    this.released = true
    await this.loaded.release()
  }
}

export interface DeploymentSpec {
  model: string
  /** An alias (follows it when it moves) or a version number as text (pinned). */
  selector: string
  logging: boolean
}

export interface DeploymentInfo extends DeploymentSpec {
  isDefault: boolean
  status: 'loading' | 'ready' | 'failed'
  version: number | null
  error: string | null
  loadSeconds: number | null
  signature: ModelSignature | null
}

interface Deployment {
  spec: DeploymentSpec
  current: ServedVersion | null
  status: 'loading' | 'ready' | 'failed'
  error: string | null
  /** Serializes swaps of one deployment: the last alias move wins, in order. */
  swapping: Promise<void>
}

export interface DeploymentEvents {
  onLoaded(model: string, version: number, seconds: number): void
  onBatch(model: string, version: number, rows: number): void
  onSwapped(model: string, from: number | null, to: number): void
  onSwapFailed(model: string, error: unknown): void
}

/**
 * The models a server answers for. Each deployment follows an alias (or pins a
 * version); sessions are created once per version and shared. A hot swap loads the
 * new version completely first, then switches the pointer in one synchronous step:
 * requests already running finish on the old session, every later one gets the new.
 */
export class DeploymentSet {
  private readonly deployments = new Map<string, Deployment>()
  private readonly versions = new Map<string, Promise<ServedVersion>>()
  private defaultModel: string | null = null

  constructor(
    private readonly resolver: ModelResolver,
    private readonly events: DeploymentEvents,
    private batching: BatchingOptions = defaultBatching,
  ) {}

  productionModels(): string[] {
    return this.resolver.productionModels()
  }

  setBatching(options: BatchingOptions): void {
    this.batching = options
  }

  get defaultName(): string | null {
    return this.defaultModel
  }

  async deploy(spec: DeploymentSpec, makeDefault = false): Promise<DeploymentInfo> {
    const source = await this.resolver.resolve(spec.model, spec.selector)
    const served = await this.acquire(source.model, source.version, () => source)
    const previous = this.deployments.get(spec.model)
    this.deployments.set(spec.model, { spec, current: served, status: 'ready', error: null, swapping: Promise.resolve() })
    if (previous?.current && previous.current !== served) this.retireIfUnused(previous.current)
    if (makeDefault || this.defaultModel === null) this.defaultModel = spec.model
    return this.info(spec.model)!
  }

  async undeploy(model: string): Promise<void> {
    const deployment = this.requireDeployment(model)
    this.deployments.delete(model)
    if (this.defaultModel === model) this.defaultModel = this.deployments.keys().next().value ?? null
    if (deployment.current) this.retireIfUnused(deployment.current)
  }

  setDefault(model: string): void {
    this.requireDeployment(model)
    this.defaultModel = model
  }

  list(): DeploymentInfo[] {
    return [...this.deployments.keys()].map((m) => this.info(m)!)
  }

  info(model: string): DeploymentInfo | null {
    const d = this.deployments.get(model)
    if (!d) return null
    return {
      ...d.spec,
      isDefault: this.defaultModel === model,
      status: d.status,
      version: d.current?.version ?? null,
      error: d.error,
      loadSeconds: d.current?.loaded.loadSeconds ?? null,
      signature: d.current?.signature ?? null,
    }
  }

  /** Whether answered requests for `model` go to the prediction log (true for models served only by version). */
  isLogging(model: string): boolean {
    return this.deployments.get(model)?.spec.logging ?? true
  }

  has(model: string): boolean {
    return this.deployments.has(model)
  }

  /** The version a request for `model` goes to right now (synchronous: the swap point). */
  current(model: string): ServedVersion {
    const d = this.requireDeployment(model)
    if (!d.current) throw new LatheError('unavailable', `model "${model}" is not ready: ${d.error ?? 'loading'}`)
    return d.current
  }

  /** A named version of a deployed model (`/v2/models/M/versions/V/...`), loaded on first use. */
  async pinned(model: string, version: number): Promise<ServedVersion> {
    const d = this.requireDeployment(model)
    if (d.current?.version === version) return d.current
    for (;;) {
      const served = await this.acquire(model, version, () => this.resolver.resolve(model, String(version)))
      if (!served.isReleased) return served
    }
  }

  /** The version `serving.predict` uses: the deployment's when it follows the same selector, else loaded (and cached) for the call. */
  async forPrediction(model: string, selector: string): Promise<ServedVersion> {
    const d = this.deployments.get(model)
    if (d?.current && d.spec.selector === selector) return d.current
    for (;;) {
      const source = await this.resolver.resolve(model, selector)
      const served = await this.acquire(source.model, source.version, () => source)
      if (!served.isReleased) return served
    }
  }

  /** Runs for every `registry.alias.moved`: deployments that follow that alias swap to its new version. */
  aliasMoved(event: AliasMoved): void {
    const d = this.deployments.get(event.model)
    if (!d || d.spec.selector !== event.alias) return
    d.swapping = d.swapping.then(() => this.swap(event.model, d))
  }

  private async swap(model: string, d: Deployment): Promise<void> {
    try {
      const source = await this.resolver.resolve(model, d.spec.selector)
      if (d.current?.version === source.version) return
      const next = await this.acquire(model, source.version, () => source)
      if (this.deployments.get(model) !== d) return // undeployed while loading
      const previous = d.current
      d.current = next
      d.status = 'ready'
      d.error = null
      this.events.onSwapped(model, previous?.version ?? null, next.version)
      if (previous && previous !== next) this.retireIfUnused(previous)
    } catch (error) {
      // The old version keeps serving: a bad promotion must not take the endpoint down.
      d.error = `could not switch to the new version: ${isLatheError(error) ? error.message : String(error)}`
      this.events.onSwapFailed(model, error)
    }
  }

  private acquire(model: string, version: number, source: () => ReturnType<ModelResolver['resolve']>): Promise<ServedVersion> {
    const key = versionKey(model, version)
    let entry = this.versions.get(key)
    if (!entry) {
      entry = (async () => {
        const loaded = await LoadedModel.load(await source())
        this.events.onLoaded(model, version, loaded.loadSeconds)
        const batcher = new MicroBatcher(loaded, this.batching, (rows) => this.events.onBatch(model, version, rows))
        return new ServedVersion(loaded, batcher)
      })()
      this.versions.set(key, entry)
      entry.catch(() => this.versions.delete(key))
    }
    return entry
  }

  private retireIfUnused(served: ServedVersion): void {
    for (const d of this.deployments.values()) if (d.current === served) return
    this.versions.delete(versionKey(served.model, served.version))
    served.retire()
  }

  private requireDeployment(model: string): Deployment {
    const d = this.deployments.get(model)
    if (!d) {
      const names = [...this.deployments.keys()]
      throw new LatheError('not_found', `model "${model}" is not deployed${names.length ? ` (deployed: ${names.join(', ')})` : ' (nothing is deployed yet)'}`, {
        field: 'model',
      })
    }
    return d
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.versions.values()])
    this.deployments.clear()
    this.versions.clear()
    for (const r of all) if (r.status === 'fulfilled') r.value.retire()
  }
}
