"""What the release's verification reads, through the SDK: an evaluation run's dataset source
(a Unity Catalog table or a local file), an app's chat completions with its trace request id,
and the app's log page."""

import datetime
import json

from databricks.sdk.service.apps import App, AppDeployment, AppDeploymentMode, EnvVar
from databricks.sdk.service.ml import Dataset, DatasetInput, InputTag

TIMEOUT = datetime.timedelta(seconds=60)
MODEL_ID = "m-0123456789abcdef0123456789abcdef"


def test_a_runs_dataset_source_reads_back_as_logged(w):
    exp_id = w.experiments.create_experiment("/Shared/verify-eval").experiment_id
    run = w.experiments.create_run(experiment_id=exp_id, run_name="eval_pre_deploy_20261201_093000").run
    w.experiments.log_inputs(
        run.info.run_id,
        datasets=[
            DatasetInput(
                dataset=Dataset(name="eval.csv", digest="d1", source_type="local", source=json.dumps({"uri": "/tmp/eval.csv"})),
                tags=[InputTag(key="mlflow.data.context", value="evaluation")],
            )
        ],
    )
    got = w.experiments.get_run(run.info.run_id).run
    assert got.info.run_name == "eval_pre_deploy_20261201_093000"
    assert got.info.experiment_id == exp_id
    d = got.inputs.dataset_inputs[0].dataset
    assert d.source_type == "local"
    assert json.loads(d.source) == {"uri": "/tmp/eval.csv"}


def _deployed_app(w):
    w.apps.create_and_wait(App(name="chat-app", description="conformance"), timeout=TIMEOUT)
    w.apps.deploy_and_wait(
        "chat-app",
        AppDeployment(
            source_code_path="/Workspace/Shared/bot",
            mode=AppDeploymentMode.SNAPSHOT,
            env_vars=[EnvVar(name="MLFLOW_ACTIVE_MODEL_ID", value=MODEL_ID)],
        ),
        timeout=TIMEOUT,
    )


def test_chat_completions_on_the_app_url_carry_a_trace_request_id(w):
    _deployed_app(w)
    resp = w.api_client.do(
        "POST",
        "/_apps/chat-app/api/chat/completions",
        body={"messages": [{"role": "user", "content": "Which tier am I in?"}], "stream": False},
        response_headers=["x-mlflow-trace-id"],
    )
    content = resp["choices"][0]["message"]["content"]
    assert content == f"[{MODEL_ID}] You asked: Which tier am I in?"
    trace = resp["databricks_output"]["trace"]["info"]["trace_id"]
    assert trace.startswith("tr-")
    assert resp.get("x-mlflow-trace-id") in (None, trace)


def test_the_app_log_page_lists_the_deployment(w):
    _deployed_app(w)
    resp = w.api_client.do("GET", "/_apps/chat-app/logz", raw=True)
    text = resp["contents"].read().decode()
    assert "[SYSTEM] deployment" in text
    assert "app status RUNNING" in text
