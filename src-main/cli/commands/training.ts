import type { Command } from 'commander'

export function registerTrainingCommands(_program: Command): void {}
