"""Training on the course task: the digits data, a batched MLP, and schedule-driven training.

``train(task, lrs, steps=..., seeds=[...])`` trains one MLP per seed as a single batched
model, its lr set before every step from a schedule; ``train_grid`` runs many schedules at
once. Torch runs on one thread inside them (``threads``), for the same numbers everywhere.
"""

from lrcourse.training.data import Task, digits_task
from lrcourse.training.models import BatchedMLP, mlp_forward, mlp_loss, mse_loss
from lrcourse.training.threads import one_thread, torch_threads
from lrcourse.training.train import OPTIMIZERS, History, train, train_grid

__all__ = [
    "Task",
    "digits_task",
    "BatchedMLP",
    "mlp_forward",
    "mlp_loss",
    "mse_loss",
    "History",
    "train",
    "train_grid",
    "OPTIMIZERS",
    "one_thread",
    "torch_threads",
]
