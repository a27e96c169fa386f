"""Parts the candidate families share across trainers: the pretrained networks, LightGBM's
float32-exact export, and running an exported graph the way the service does."""
