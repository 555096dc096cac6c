import mlflow, json, time
from mlflow.entities import SpanType
mlflow.set_tracking_uri("http://127.0.0.1:5516")
exp = mlflow.set_experiment("tracing-rec")

@mlflow.trace(span_type=SpanType.CHAT_MODEL, name="chat")
def chat(messages):
    span = mlflow.get_current_active_span()
    span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17})
    return {"choices": [{"message": {"role": "assistant", "content": "It is sunny."}}]}

@mlflow.trace(span_type=SpanType.TOOL, name="get_weather")
def tool(city):
    return chat([{"role": "user", "content": f"weather in {city}?"}])

@mlflow.trace(span_type=SpanType.AGENT, name="agent")
def agent(question):
    mlflow.update_current_trace(tags={"team": "recording"}, metadata={"mlflow.trace.user": "alice", "mlflow.trace.session": "s-1"})
    return tool("Paris")

with mlflow.start_run() as run:
    agent("What is the weather in Paris?")
    print("RUN", run.info.run_id)
trace_id = mlflow.get_last_active_trace_id()
print("TRACE", trace_id)
time.sleep(2)
client = mlflow.MlflowClient()
traces = client.search_traces(locations=[exp.experiment_id], max_results=10)
print("FOUND", [t.info.trace_id for t in traces])
t = client.get_trace(trace_id)
print("SPANS", [(s.name, s.span_type, s.parent_id is None) for s in t.data.spans])
client.set_trace_tag(trace_id, "reviewed", "yes")
client.delete_trace_tag(trace_id, "reviewed")
mlflow.log_feedback(trace_id=trace_id, name="helpful", value=True, rationale="answered the question", source=mlflow.entities.AssessmentSource(source_type="HUMAN", source_id="bob"))
t2 = client.get_trace(trace_id)
print("ASSESSMENTS", [(a.name, a.value) for a in t2.info.assessments])
traces = client.search_traces(locations=[exp.experiment_id], filter_string="tags.team = 'recording'", order_by=["timestamp_ms DESC"], max_results=10)
print("FILTERED", len(traces))
# a second trace, then delete it by id
@mlflow.trace(name="short")
def short(x):
    return x * 2
short(21)
tid2 = mlflow.get_last_active_trace_id()
time.sleep(1)
n = client.delete_traces(experiment_id=exp.experiment_id, trace_ids=[tid2])
print("DELETED", n)
