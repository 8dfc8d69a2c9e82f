"""Offline tools that build latent-edge's bundled tiny Stable Diffusion model (see README.md)."""
