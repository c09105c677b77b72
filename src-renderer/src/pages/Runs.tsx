export default function RunsPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Runs</h1>
      <p className="muted">Coming in a later issue.</p>
    </section>
  )
}
