export async function run(): Promise<void> {
  throw new Error('bench "drift" is not written yet')
}
