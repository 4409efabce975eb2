"""SkyLoyalty customer-service agent (sample source for the simulated workspace)."""

import os

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/invocations")
def invocations():
    question = request.get_json(force=True)
    return jsonify(
        {
            "model_id": os.environ.get("MLFLOW_ACTIVE_MODEL_ID"),
            "reply": f"You asked: {question}",
        }
    )


if __name__ == "__main__":
    app.run(port=int(os.environ.get("DATABRICKS_APP_PORT", "8000")))
