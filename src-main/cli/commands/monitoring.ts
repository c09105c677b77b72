import type { Command } from 'commander'

export function registerMonitoringCommands(_program: Command): void {}
