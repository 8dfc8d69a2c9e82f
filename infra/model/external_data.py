"""The `external-data` test fixture: the `scalar-timestep` fixture with its UNet re-saved the way
Optimum saves a graph over 2 GB (every initializer in one `model.onnx_data` file beside
`model.onnx`, SD-NOTES §1.1), so tests can load a graph with external data and see the worker
refuse one whose data file is missing.

    /usr/bin/python3 -m infra.model.external_data
"""
import os
import shutil

import onnx

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "gpu-worker", "test", "fixtures", "models")


def main():
    src = os.path.join(ROOT, "scalar-timestep")
    out = os.path.join(ROOT, "external-data")
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    path = os.path.join(tmp, "unet", "model.onnx")
    model = onnx.load(path)
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx_data", size_threshold=0, convert_attribute=False)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"wrote {out} (unet/model.onnx + unet/model.onnx_data)")


if __name__ == "__main__":
    main()
