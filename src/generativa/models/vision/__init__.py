"""Vision models: the classifier zoo (LeNet-5, AlexNet, VGG, ResNet) and its augmentations."""
