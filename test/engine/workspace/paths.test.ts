import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultWorkspaceDir, resolveWorkspaceDir } from '../../../src-main/engine/workspace/paths.js'

// A made-up environment: these tests never look at the real home folder.
const fakeHome = '/home/someone-else'

describe('where the workspace lives', () => {
  it('defaults to ~/.local/share/lathe on Linux', () => {
    expect(defaultWorkspaceDir({ HOME: fakeHome }, 'linux')).toBe('/home/someone-else/.local/share/lathe')
  })

  it('follows XDG_DATA_HOME on Linux when set', () => {
    expect(defaultWorkspaceDir({ HOME: fakeHome, XDG_DATA_HOME: '/data/xdg' }, 'linux')).toBe('/data/xdg/lathe')
  })

  it('uses the platform user-data folder on macOS and Windows', () => {
    expect(defaultWorkspaceDir({ HOME: '/Users/ana' }, 'darwin')).toBe('/Users/ana/Library/Application Support/lathe')
    expect(defaultWorkspaceDir({ APPDATA: 'C:\\Users\\ana\\AppData\\Roaming', USERPROFILE: 'C:\\Users\\ana' }, 'win32')).toBe(
      path.join('C:\\Users\\ana\\AppData\\Roaming', 'lathe'),
    )
  })

  it('LATHE_WORKSPACE overrides the default, resolved to an absolute path', () => {
    expect(defaultWorkspaceDir({ HOME: fakeHome, LATHE_WORKSPACE: '/srv/lathe' }, 'linux')).toBe('/srv/lathe')
    expect(defaultWorkspaceDir({ HOME: fakeHome, LATHE_WORKSPACE: 'relative/ws' }, 'linux')).toBe(path.resolve('relative/ws'))
  })

  it('--workspace overrides LATHE_WORKSPACE', () => {
    const env = { HOME: fakeHome, LATHE_WORKSPACE: '/srv/lathe' }
    expect(resolveWorkspaceDir('/tmp/flag-ws', env)).toBe('/tmp/flag-ws')
    expect(resolveWorkspaceDir(undefined, env)).toBe('/srv/lathe')
    expect(resolveWorkspaceDir(undefined, { HOME: fakeHome })).toBe('/home/someone-else/.local/share/lathe')
  })
})
