"""Architecture-exact PyTorch modules for SD 1.5, SD 2.1 and SDXL: parameter names and shapes are
diffusers' (`UNet2DConditionModel`, `AutoencoderKL`) and transformers' (`CLIPTextModel`,
`CLIPTextModelWithProjection`), so a real checkpoint's state dict loads with strict=True."""
