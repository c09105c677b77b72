/**
 * A small MLflow REST client written for the tests from docs/mlflow/SPEC.md, doing
 * what the Python client does on the wire: GET fields in the query string (lists as
 * repeated keys), `run_uuid` and `run_id` both sent, doubles NaN/±Inf as strings,
 * only 200 counted as success, and every method, POST included, resent on 408, 429,
 * 5xx and connection errors. `loseNextResponse` makes the next matching request
 * behave like a response lost after the server committed: the answer is thrown
 * away and the request is sent again, as the Python client's retry would.
 */
export class MlflowRestError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(`${status} ${errorCode}: ${message}`)
  }
}

const retryStatuses = new Set([408, 429, 500, 502, 503, 504])

export class TestMlflowClient {
  /** Every attempt sent, for assertions on retries. */
  readonly sent: Array<{ method: string; path: string; status: number | 'lost' }> = []
  private readonly lose: Array<(method: string, path: string) => boolean> = []

  constructor(
    readonly trackingUri: string,
    readonly token: string,
    readonly maxRetries = 3,
  ) {}

  loseNextResponse(match: (method: string, path: string) => boolean): void {
    this.lose.push(match)
  }

  private async attempt(method: string, url: URL, init: RequestInit, path: string): Promise<Response> {
    for (let tries = 0; ; tries++) {
      let response: Response
      try {
        response = await fetch(url, { ...init, method })
      } catch (error) {
        if (tries >= this.maxRetries) throw error
        this.sent.push({ method, path, status: 'lost' })
        continue
      }
      const losing = this.lose.findIndex((m) => m(method, path))
      if (losing >= 0) {
        this.lose.splice(losing, 1)
        await response.arrayBuffer()
        this.sent.push({ method, path, status: 'lost' })
        continue
      }
      this.sent.push({ method, path, status: response.status })
      if (retryStatuses.has(response.status) && tries < this.maxRetries) {
        await response.arrayBuffer()
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** tries))
        continue
      }
      return response
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { 'User-Agent': 'mlflow-python-client/3.6.0', 'X-MLflow-Client-Version': '3.6.0', Authorization: `Bearer ${this.token}`, ...extra }
  }

  async call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', endpoint: string, message: Record<string, unknown> = {}): Promise<any> {
    const path = `/api/2.0/mlflow/${endpoint}`
    const url = new URL(this.trackingUri + path)
    let init: RequestInit = { headers: this.headers() }
    if (method === 'GET') {
      for (const [k, v] of Object.entries(message)) {
        if (v === undefined) continue
        for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item))
      }
    } else {
      init = { headers: this.headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(message) }
    }
    const response = await this.attempt(method, url, init, path)
    const text = await response.text()
    const body = text ? JSON.parse(text) : {}
    if (response.status !== 200) throw new MlflowRestError(response.status, body.error_code ?? 'INTERNAL_ERROR', body.message ?? text)
    return body
  }

  async putArtifact(artifactUri: string, relativePath: string, bytes: Uint8Array | string, contentType: string): Promise<void> {
    const url = new URL(`${this.resolve(artifactUri)}/${relativePath}`)
    const response = await this.attempt(
      'PUT',
      url,
      { headers: this.headers({ 'Content-Type': contentType }), body: bytes as RequestInit['body'] },
      url.pathname,
    )
    const text = await response.text()
    if (response.status < 200 || response.status >= 300) throw new MlflowRestError(response.status, JSON.parse(text || '{}').error_code ?? '', text)
  }

  async getArtifact(artifactUri: string, relativePath: string): Promise<Buffer> {
    const url = new URL(`${this.resolve(artifactUri)}/${relativePath}`)
    const response = await this.attempt('GET', url, { headers: this.headers() }, url.pathname)
    if (response.status !== 200) throw new MlflowRestError(response.status, '', await response.text())
    return Buffer.from(await response.arrayBuffer())
  }

  /** `mlflow-artifacts:/1/R/artifacts` -> `<tracking>/api/2.0/mlflow-artifacts/artifacts/1/R/artifacts`. */
  resolve(artifactUri: string): string {
    const m = /^mlflow-artifacts:\/(.*)$/.exec(artifactUri)
    if (!m) throw new Error(`the client would write ${artifactUri} to the local filesystem itself: not a proxied artifact URI`)
    return `${this.trackingUri}/api/2.0/mlflow-artifacts/artifacts/${m[1]!.replace(/^\/+/, '')}`
  }

  static double(value: number): number | string {
    return Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : value
  }

  runRef(runId: string) {
    return { run_uuid: runId, run_id: runId }
  }
}
