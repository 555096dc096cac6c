// Every tracer provider listens to MlflowTracing's one activity source: tests that build providers run one at a time,
// or each would export the others' spans.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
