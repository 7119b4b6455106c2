"""What `nerflow predict` asks of a task (its predict part, nerflow.tasks.<task>.predict, subclasses Predict): the
predictor of a saved model folder, a callable on raw texts. No stage runs it: editing a predict part reruns
nothing."""


class Predict:
    task: str  # the task the model folder's nerflow.json names (set by nerflow.tasks.task_part)
    model_class = None  # the transformers Auto class the model folder is loaded with (the task's Train.model_class)

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        """A callable on raw texts for a saved model (settings: its nerflow.json)."""
        raise NotImplementedError
