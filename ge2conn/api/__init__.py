"""ge2conn's public Python API: one place that turns a configuration into a fitted, tested, predicting model.

Layers (imports only point down; ``tests/test_architecture.py`` checks it)::

    ge2conn.main                         console script: parses the verb, imports only what it needs
    ge2conn.{data,nulls,experiments,interpret,inference}.cli   the verbs
    ge2conn.experiments, ge2conn.interpret           applications (runner, transfer, demo, explain)
    ge2conn.api                          build / fit / test / predict  <- this package
    ge2conn.inference                    trained models on new data: load_model, predict without FC
    ge2conn.models, callbacks, data.datamodule       Lightning tasks, callbacks, datamodule
    ge2conn.nn, metrics, nulls                       networks, metrics, null brains (torch / numpy)
    ge2conn.data                         the dataset format, recipes, splits
    ge2conn.utils                        atomic writes, version, warnings policy

Example::

    import ge2conn
    data = ge2conn.EdgePairDataModule(dataset="dk82")
    task = ge2conn.build_task(ge2conn.SMTTask, data, use_cls=True)
    run = ge2conn.Run(task, data, ge2conn.build_trainer(max_epochs=20))
    ge2conn.fit(run)
    print(ge2conn.test(run)["test/pearson"])
    connectome = ge2conn.predict(run)
    fc = ge2conn.load_model("mlp_coords_dk82_common").predict(expression, coordinates)  # any atlas, no FC
"""

from ge2conn.api.lightning_cli import Ge2connCLI
from ge2conn.api.run import (
    Run,
    RunResult,
    build,
    build_task,
    build_trainer,
    fit,
    fit_and_test,
    nest_settings,
    predict,
    test,
)
from ge2conn.data.datamodule import EdgePairDataModule
from ge2conn.inference.model import load_model
from ge2conn.models import (
    BilinearLowRankTask,
    ConnectomeModelTask,
    EdgeRegressionTask,
    MLPTask,
    RulesBasedTask,
    SMTTask,
)

__all__ = [
    "BilinearLowRankTask",
    "ConnectomeModelTask",
    "EdgePairDataModule",
    "EdgeRegressionTask",
    "Ge2connCLI",
    "MLPTask",
    "RulesBasedTask",
    "Run",
    "RunResult",
    "SMTTask",
    "build",
    "build_task",
    "load_model",
    "build_trainer",
    "fit",
    "fit_and_test",
    "nest_settings",
    "predict",
    "test",
]
