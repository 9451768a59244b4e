import AIBrainCLI

AIBrain.start()
