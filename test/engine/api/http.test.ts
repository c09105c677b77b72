import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createHttpClient } from '../../../src-main/engine/api/common/client.js'
import { LatheError } from '../../../src-main/engine/api/common/errors.js'
import type { Contract } from '../../../src-main/engine/contract.js'
import { startEngineHost, type EngineHost } from '../../../src-main/engine/host.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

async function startHost(): Promise<EngineHost> {
  const host = await startEngineHost({ workspaceDir: tempDir(), holder: 'http test', port: 0 })
  afterThisTest(() => host.stop())
  return host
}

interface RawResponse {
  status: number
  body: any
}

/** A request with full control of the headers (fetch will not let a test forge Host). */
function rawRequest(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, method: options.method ?? 'POST', path: options.path, headers: options.headers }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : null }))
    })
    request.on('error', reject)
    request.end(options.body)
  })
}

const json = { 'content-type': 'application/json' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** Everything a request could have changed: each table's rows, the schema version, the objects. */
async function snapshotState(host: EngineHost) {
  const db = host.engine.workspace.db
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[]
  const rows = Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).all()]))
  const objects: string[] = []
  for await (const sha of host.engine.workspace.objects.list()) objects.push(sha)
  return { userVersion: db.pragma('user_version', { simple: true }), rows, objects }
}

describe('the engine API over HTTP', () => {
  it('answers 401 without the token and with a wrong one, 200 with the right one', async () => {
    const host = await startHost()
    const path = '/api/v1/system.info'
    const none = await rawRequest(host.api.url, { path, headers: json, body: '{}' })
    expect(none.status).toBe(401)
    expect(none.body.error.code).toBe('unauthorized')
    expect(none.body.error.message).toMatch(/token/)

    const wrong = await rawRequest(host.api.url, { path, headers: { ...json, ...bearer('not-the-token') }, body: '{}' })
    expect(wrong.status).toBe(401)
    const sameLengthWrong = host.api.token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'))
    expect((await rawRequest(host.api.url, { path, headers: { ...json, ...bearer(sameLengthWrong) }, body: '{}' })).status).toBe(401)

    const right = await rawRequest(host.api.url, { path, headers: { ...json, ...bearer(host.api.token) }, body: '{}' })
    expect(right.status).toBe(200)
    expect(right.body.pid).toBe(process.pid)
  })

  it('answers 403 to a foreign Origin and to a foreign Host (DNS rebinding), even with the token', async () => {
    const host = await startHost()
    const path = '/api/v1/system.info'
    const headers = { ...json, ...bearer(host.api.token) }

    const foreignOrigin = await rawRequest(host.api.url, { path, headers: { ...headers, origin: 'https://evil.example' }, body: '{}' })
    expect(foreignOrigin.status).toBe(403)
    expect(foreignOrigin.body.error.message).toContain('https://evil.example')

    // A page on evil.example whose DNS name was re-pointed at 127.0.0.1 sends its own Host.
    const rebound = await rawRequest(host.api.url, { path, headers: { ...headers, host: `evil.example:${host.api.port}` }, body: '{}' })
    expect(rebound.status).toBe(403)
    expect(rebound.body.error.code).toBe('forbidden')

    // The engine's own origin (the page `lathe ui` serves) is allowed.
    const own = await rawRequest(host.api.url, { path, headers: { ...headers, origin: host.api.url }, body: '{}' })
    expect(own.status).toBe(200)
    const localhost = await rawRequest(host.api.url, { path, headers: { ...headers, host: `localhost:${host.api.port}` }, body: '{}' })
    expect(localhost.status).toBe(200)
  })

  it('answers 400 naming the field for bad input, and changes nothing', async () => {
    const host = await startHost()
    await host.engine.workspace.objects.putBuffer('something already stored')
    const before = await snapshotState(host)
    const headers = { ...json, ...bearer(host.api.token) }

    const badValue = await rawRequest(host.api.url, { path: '/api/v1/compute.backends', headers, body: '{"pinned":"quantum"}' })
    expect(badValue.status).toBe(400)
    expect(badValue.body.error).toMatchObject({ code: 'bad_request', field: 'pinned' })
    expect(badValue.body.error.message).toMatch(/compute\.backends: pinned: /)
    expect(JSON.stringify(badValue.body)).not.toMatch(/at .*\.ts:\d+/) // no stack trace

    const unknownField = await rawRequest(host.api.url, { path: '/api/v1/system.info', headers, body: '{"verbose":true}' })
    expect(unknownField.status).toBe(400)
    expect(unknownField.body.error.message).toContain('verbose')

    const notJson = await rawRequest(host.api.url, { path: '/api/v1/system.info', headers, body: '{"unclosed' })
    expect(notJson.status).toBe(400)
    expect(notJson.body.error.code).toBe('bad_request')

    expect(await snapshotState(host)).toEqual(before)
  })

  it('answers 404 for an unknown operation', async () => {
    const host = await startHost()
    const response = await rawRequest(host.api.url, {
      path: '/api/v1/data.teleport',
      headers: { ...json, ...bearer(host.api.token) },
      body: '{}',
    })
    expect(response.status).toBe(404)
    expect(response.body.error).toMatchObject({ code: 'not_found', field: 'operation' })
    expect(response.body.error.message).toContain('data.teleport')
  })

  it('delivers events as server-sent events on GET /api/v1/events, filtered by topic', async () => {
    const host = await startHost()
    const controller = new AbortController()
    afterThisTest(() => controller.abort())
    const response = await fetch(`${host.api.url}/api/v1/events?topics=system.*`, {
      headers: bearer(host.api.token),
      signal: controller.signal,
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    // The first frame is the ": connected" comment: once read, the subscription exists.
    while (!text.includes('\n\n')) text += decoder.decode((await reader.read()).value, { stream: true })

    host.engine.events.emit('training.progress', { runId: 'ignored', epoch: 1, epochs: 1, loss: 0, metrics: {} })
    host.engine.events.emit('system.log', { level: 'info', message: 'hello over SSE' })
    while (!/data: .*hello over SSE.*\n\n/.test(text)) text += decoder.decode((await reader.read()).value, { stream: true })

    const frames = text.split('\n\n').filter((f) => f.startsWith('data: '))
    expect(frames).toHaveLength(1)
    const event = JSON.parse(frames[0]!.slice(6))
    expect(event).toMatchObject({ topic: 'system.log', payload: { level: 'info', message: 'hello over SSE' } })
    expect(event.seq).toBeGreaterThan(0)
  })

  it('answers 500 "internal error, see log at PATH" to a failure that is not the caller\'s, with the stack in the log only', async () => {
    const host = await startHost()
    // An object-store entry that points nowhere: workspace.info's stat of it fails unexpectedly.
    const broken = path.join(host.engine.workspace.objects.root, 'sha256', '00', 'f'.repeat(62))
    fs.mkdirSync(path.dirname(broken), { recursive: true })
    fs.symlinkSync(path.join(host.engine.workspace.dir, 'nowhere'), broken)

    const response = await rawRequest(host.api.url, {
      path: '/api/v1/workspace.info',
      headers: { ...json, ...bearer(host.api.token) },
      body: '{}',
    })
    expect(response.status).toBe(500)
    expect(response.body.error.message).toBe(`internal error, see log at ${host.engine.log.file}`)
    expect(JSON.stringify(response.body)).not.toContain('ENOENT')
    const log = fs.readFileSync(host.engine.log.file, 'utf8')
    expect(log).toContain('ENOENT')
    expect(log).toMatch(/\n\s+at /) // the stack
  })

  it('refuses the event stream without the token', async () => {
    const host = await startHost()
    const response = await fetch(`${host.api.url}/api/v1/events`)
    expect(response.status).toBe(401)
  })
})

describe('the in-process and HTTP transports', () => {
  it('give the same answers and the same errors', async () => {
    const host = await startHost()
    const local = host.engine.client()
    const remote = createHttpClient<Contract>({ baseUrl: host.api.url, token: host.api.token })
    expect(local.transport).toBe('in-process')
    expect(remote.transport).toBe('http')

    expect(await remote.call('system.info', {})).toEqual(await local.call('system.info', {}))
    expect(await remote.call('workspace.info', {})).toEqual(await local.call('workspace.info', {}))
    expect(await remote.call('compute.backends', {})).toEqual(await local.call('compute.backends', {}))
    expect(await remote.call('compute.backends', { pinned: 'cpu' })).toEqual(await local.call('compute.backends', { pinned: 'cpu' }))

    const failure = async (call: Promise<unknown>) => {
      const error = await call.then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(LatheError)
      const { code, message, field } = error as LatheError
      return { code, message, field }
    }
    const bad = { pinned: 'quantum' } as never
    expect(await failure(remote.call('compute.backends', bad))).toEqual(await failure(local.call('compute.backends', bad)))
    expect(await failure(remote.call('no.such' as never, {} as never))).toEqual(await failure(local.call('no.such' as never, {} as never)))
  })

  it('deliver events to subscribers alike', async () => {
    const host = await startHost()
    const remote = createHttpClient<Contract>({ baseUrl: host.api.url, token: host.api.token })
    const local = host.engine.client()
    const seen = { local: [] as unknown[], remote: [] as unknown[] }
    afterThisTest(local.subscribe(['system.log'], (e) => seen.local.push(e.payload)))
    afterThisTest(remote.subscribe(['system.log'], (e) => seen.remote.push(e.payload)))
    // Emit until the remote stream (which connects asynchronously) has seen one.
    for (let i = 0; seen.remote.length === 0 && i < 200; i++) {
      host.engine.events.emit('system.log', { level: 'info', message: `ping ${i}` })
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect(seen.remote.length).toBeGreaterThan(0)
    expect(seen.local).toEqual(expect.arrayContaining(seen.remote))
  })

  it('report an engine that is not there as unavailable', async () => {
    const host = await startHost()
    const url = host.api.url
    await host.stop()
    const remote = createHttpClient<Contract>({ baseUrl: url, token: 'x' })
    await expect(remote.call('system.info', {})).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining(url) })
  })
})
