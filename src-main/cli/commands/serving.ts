import type { Command } from 'commander'

export function registerServingCommands(_program: Command): void {}
