import { describe, expect, it } from 'vitest'
import { startEngineHost, type EngineHost } from '../../../src-main/engine/host.js'
import { afterThisTest, tempDir } from '../../helpers/workspace.js'

async function startHost(): Promise<EngineHost> {
  const host = await startEngineHost({ workspaceDir: tempDir(), holder: 'session test', port: 0 })
  afterThisTest(() => host.stop())
  return host
}

const info = (url: string, headers: Record<string, string>) =>
  fetch(`${url}/api/v1/system.info`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' })

describe('browser sessions of the HTTP API', () => {
  it('trades the token for an HttpOnly, SameSite=Strict cookie that signs later requests', async () => {
    const host = await startHost()
    const { url, token, port } = host.api
    const traded = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(traded.status).toBe(200)
    const cookie = traded.headers.get('set-cookie') ?? ''
    expect(cookie).toContain(`lathe_session_${port}=`)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)

    const pair = cookie.split(';')[0]!
    expect((await info(url, { cookie: pair })).status).toBe(200)
    // Another engine's cookie on the same host, or a forged one, is refused.
    expect((await info(url, { cookie: `lathe_session_1=${token}` })).status).toBe(401)
    expect((await info(url, { cookie: `lathe_session_${port}=forged` })).status).toBe(401)
  })

  it('will not hand out a session without the token', async () => {
    const host = await startHost()
    const refused = await fetch(`${host.api.url}/api/v1/session`, { method: 'POST' })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('set-cookie')).toBeNull()
  })

  it('answers /favicon.ico with an icon', async () => {
    const host = await startHost()
    const icon = await fetch(`${host.api.url}/favicon.ico`)
    expect(icon.status).toBe(200)
    expect(icon.headers.get('content-type')).toBe('image/x-icon')
    const bytes = new Uint8Array(await icon.arrayBuffer())
    // ICONDIR: reserved 0, type 1 (icon), one image.
    expect([...bytes.slice(0, 6)]).toEqual([0, 0, 1, 0, 1, 0])
  })
})
