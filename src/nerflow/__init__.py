"""nerflow: reproducible fine-tuning of Transformer encoders (named-entity recognition, text and pair
classification) as a DVC pipeline. The package, from the top layer down; each imports only from the layers
below it:

  stages/    the five DVC stages (download, preprocess, tokenize, train, evaluate): main() reads params.yaml
             (checked whole first) and the paths, asks the registry for its part of the task, calls the library
  tools/     the `nerflow` command: predict (a trained model on new texts), report (a revision's changes)
  tasks/     the tasks, one package each (ner/, classification/) with one part per stage (preprocess/, tokenize/,
             train/, evaluate/, predict/) and its records; the registry (task_part) finds a part by path, and the
             machinery each stage shares across tasks is tasks/<stage>.py
  training/  the engine every task shares: token-budget batches, the fit loop and its captured GPU step, the
             base model and its tokenizer, the tuning (tuning/full.py, tuning/lora.py), checkpoints, batched
             inference, threads and devices
  data/      where the data come from (sources), raw files (rawfiles, textfiles), splits and record counts,
             atomic files, the stored splits (store)
  paths.py, params.py   every path of the pipeline, once; params.yaml's schema and its one loader

The library (all but stages/ and tools/) knows nothing of DVC or the command line.
"""
