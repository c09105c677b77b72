import type { Command, Option } from 'commander'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { parseModelRef } from '../../src-main/engine/api/common/model-ref.js'
import { buildProgram, main } from '../../src-main/cli/index.js'
import { tempDir } from '../helpers/workspace.js'

/** Every command below the program, with its path: ['drift'], ['monitor', 'add'], ... */
function commands(command: Command, prefix: string[] = []): Array<{ path: string[]; command: Command }> {
  return command.commands.flatMap((sub) => {
    const here = [...prefix, sub.name()]
    return [{ path: here, command: sub }, ...commands(sub, here)]
  })
}

const flagsOf = (option: Option) => [option.long, option.short].filter((f): f is string => Boolean(f))

/** The argv that reaches `command` with `option` set, placeholders for its required arguments and options. */
function argvFor(path: string[], command: Command, option: Option): string[] {
  const args = command.registeredArguments.filter((a) => a.required).map(() => 'x')
  const required = command.options.filter((o) => o.mandatory && o !== option).flatMap((o) => [o.long!, 'x'])
  return [...path, ...args, ...required, option.long!, ...(option.required || option.optional ? ['v9'] : [])]
}

describe('the CLI reads its options the same way everywhere', () => {
  beforeEach(() => {
    // Nothing here should open a workspace; if something did, it would be this throwaway one.
    vi.stubEnv('LATHE_WORKSPACE', tempDir())
    return () => vi.unstubAllEnvs()
  })

  it("no command option collides with a global one: each reaches its command (lathe drift M --version 1 is not Lathe's version)", async () => {
    const program = buildProgram()
    const globals = new Set(program.options.flatMap(flagsOf))
    expect(globals).toContain('--version')
    const shared: string[] = []
    for (const { path, command } of commands(program)) {
      for (const option of command.options) {
        if (!flagsOf(option).some((f) => globals.has(f))) continue
        shared.push(`${path.join(' ')} ${option.long}`)
        // Run the real parser with the action replaced by one that records what the command received.
        const fresh = buildProgram()
        const target = commands(fresh).find((c) => c.path.join(' ') === path.join(' '))!.command
        let received: Record<string, unknown> | null = null
        target.action(function (this: Command) {
          received = this.opts()
        })
        // A global option would end the parse (commander.version) before the action ran.
        await fresh.parseAsync(['node', 'lathe', ...argvFor(path, target, option)])
        expect(received, `lathe ${path.join(' ')} ${option.long} never reached the command`).not.toBeNull()
        expect(received![option.attributeName()], `lathe ${path.join(' ')} ${option.long}`).toBe('v9')
      }
    }
    // The two commands that read a model's version this way are among those checked.
    expect(shared).toEqual(expect.arrayContaining(['drift --version', 'monitor add --version']))
  })

  it("lathe --version before a command still prints Lathe's version", async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    try {
      expect(await main(['node', 'lathe', '--version'])).toBe(0)
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toMatch(/^\d+\.\d+\.\d+/)
    } finally {
      out.mockRestore()
    }
  })

  it('M, M@alias and M@V are read by one parser, and a malformed one is a usage error naming the forms', async () => {
    expect(parseModelRef('weather')).toEqual({ model: 'weather' })
    expect(parseModelRef('weather@production')).toEqual({ model: 'weather', selector: 'production' })
    expect(parseModelRef('weather@2')).toEqual({ model: 'weather', selector: '2' })
    expect(parseModelRef('team@x@2')).toEqual({ model: 'team@x', selector: '2' })
    for (const bad of ['weather@', '@2', '']) expect(() => parseModelRef(bad)).toThrow(/is not M, M@alias or M@version/)
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      for (const argv of [
        ['drift', 'weather@'],
        ['predict', 'weather@', 'rows.csv'],
        ['models', 'show', '@2'],
        ['monitor', 'add', 'm', '--model', 'w@'],
      ]) {
        expect(await main(['node', 'lathe', ...argv]), `lathe ${argv.join(' ')}`).toBe(2)
      }
    } finally {
      err.mockRestore()
    }
  })

  it('every command that takes a model gets M@V as the model and its version (lathe drift weather@2)', async () => {
    const seen: Record<string, unknown[]> = {}
    const program = buildProgram()
    for (const { path, command } of commands(program)) {
      command.action((...args: unknown[]) => {
        seen[path.join(' ')] = args.slice(0, -2)
      })
    }
    for (const argv of [
      ['drift', 'weather@2'],
      ['predict', 'weather@2', 'rows.csv'],
      ['models', 'show', 'weather@2'],
      ['models', 'lineage', 'weather@2'],
      ['models', 'promote', 'weather@2', '--alias', 'production'],
    ]) {
      await program.parseAsync(['node', 'lathe', ...argv])
    }
    expect(seen['drift']).toEqual([{ model: 'weather', selector: '2' }])
    expect(seen['models show']).toEqual([{ model: 'weather', selector: '2' }])
    expect(seen['models lineage']).toEqual([{ model: 'weather', selector: '2' }])
    expect(seen['models promote']).toEqual([{ model: 'weather', selector: '2' }, undefined])
    expect(seen['predict']).toEqual([{ model: 'weather', selector: '2' }, 'rows.csv'])
  })
})
