export default function MonitoringPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Monitoring</h1>
      <p className="muted">Coming in a later issue.</p>
    </section>
  )
}
