"""The ML engine: trainers, budget, preprocessing, evaluation, the bundle format and the
predictors. Plain Python: it imports no Django and no app, so it runs in a worker, in the
web process's serving path (predictors and preprocessing only) and in bench/ alike."""
