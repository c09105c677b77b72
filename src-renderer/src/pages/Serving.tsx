export default function ServingPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Serving</h1>
      <p className="muted">Coming in a later issue.</p>
    </section>
  )
}
