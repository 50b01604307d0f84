"""DeepLabV3+ from segmentation_models_pytorch, built with random weights from a config."""

from __future__ import annotations

from torch import nn

from workbench.models.nets.torchvision_nets import no_inplace


def deeplabv3plus(in_channels: int = 1, num_classes: int = 2, encoder: str = "tu-mobilenetv2_050",
                  decoder_channels: int = 64) -> nn.Module:
    """smp's DeepLabV3+ (ASPP on the encoder's stride-16 features, fused with its stride-4 ones).
    `encoder_weights=None`: nothing is downloaded; bundled weights come from model.safetensors."""
    import segmentation_models_pytorch as smp

    module = smp.DeepLabV3Plus(encoder_name=encoder, encoder_weights=None, in_channels=in_channels,
                               classes=num_classes, decoder_channels=decoder_channels)
    no_inplace(module)
    return module
