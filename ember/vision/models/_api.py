"""torchvision's model-builder conventions: ``weights=`` enums, the legacy ``pretrained=``
flag, ``get_model`` / ``list_models``.

ember builds the architectures, never downloads: asking for pretrained weights raises an error
that says how to bring a torchvision checkpoint in (ember reads safetensors files; torchvision's
own ``.pth`` files are read once torch-format loading lands). The weight enums still exist, with
torchvision's names, URLs and preprocessing (``weights.transforms()``), because tutorials use
them for their preprocessing even when training from scratch.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import warnings

__all__ = ["Weights", "WeightsEnum", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", "builder"]

_BUILDERS: dict = {}


@dataclasses.dataclass(frozen=True)
class Weights:
    url: str
    resize_size: int
    crop_size: int = 224
    interpolation: str = "bilinear"

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def transforms(self):
        from ember.vision.transforms._presets import ImageClassification
        return ImageClassification(crop_size=self.crop_size, resize_size=self.resize_size,
                                   interpolation=self.interpolation)


class WeightsEnum(enum.Enum):
    """One member per checkpoint torchvision publishes for a model; ``DEFAULT`` is its best."""

    @classmethod
    def verify(cls, obj):
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            name = obj.replace(cls.__name__ + ".", "")
            if name == "DEFAULT":
                return cls.DEFAULT
            try:
                return cls[name]
            except KeyError:
                raise ValueError(f"Failed to find Weights {obj} in {cls.__name__}.") from None
        raise TypeError(f"Invalid Weights class provided; expected {cls.__name__} but received "
                        f"{obj.__class__.__name__}.")

    @property
    def url(self):
        return self.value.url

    def transforms(self):
        return self.value.transforms()

    def get_state_dict(self, *args, **kwargs):
        raise _no_download(self)

    def __repr__(self):
        return f"{type(self).__name__}.{self.name}"


# torchvision 0.28's checkpoints: (model, enum name, member, url, resize, crop, is DEFAULT)
_CHECKPOINTS = (
    ("alexnet", "AlexNet_Weights", "IMAGENET1K_V1", "alexnet-owt-7be5be79.pth", 256, True),
    ("vgg11", "VGG11_Weights", "IMAGENET1K_V1", "vgg11-8a719046.pth", 256, True),
    ("vgg11_bn", "VGG11_BN_Weights", "IMAGENET1K_V1", "vgg11_bn-6002323d.pth", 256, True),
    ("vgg13", "VGG13_Weights", "IMAGENET1K_V1", "vgg13-19584684.pth", 256, True),
    ("vgg13_bn", "VGG13_BN_Weights", "IMAGENET1K_V1", "vgg13_bn-abd245e5.pth", 256, True),
    ("vgg16", "VGG16_Weights", "IMAGENET1K_V1", "vgg16-397923af.pth", 256, True),
    ("vgg16", "VGG16_Weights", "IMAGENET1K_FEATURES", "vgg16_features-amdegroot-88682ab5.pth", 256,
     False),
    ("vgg16_bn", "VGG16_BN_Weights", "IMAGENET1K_V1", "vgg16_bn-6c64b313.pth", 256, True),
    ("vgg19", "VGG19_Weights", "IMAGENET1K_V1", "vgg19-dcbb9e9d.pth", 256, True),
    ("vgg19_bn", "VGG19_BN_Weights", "IMAGENET1K_V1", "vgg19_bn-c79401a0.pth", 256, True),
    ("resnet18", "ResNet18_Weights", "IMAGENET1K_V1", "resnet18-f37072fd.pth", 256, True),
    ("resnet34", "ResNet34_Weights", "IMAGENET1K_V1", "resnet34-b627a593.pth", 256, True),
    ("resnet50", "ResNet50_Weights", "IMAGENET1K_V1", "resnet50-0676ba61.pth", 256, False),
    ("resnet50", "ResNet50_Weights", "IMAGENET1K_V2", "resnet50-11ad3fa6.pth", 232, True),
    ("resnet101", "ResNet101_Weights", "IMAGENET1K_V1", "resnet101-63fe2227.pth", 256, False),
    ("resnet101", "ResNet101_Weights", "IMAGENET1K_V2", "resnet101-cd907fc2.pth", 232, True),
    ("resnet152", "ResNet152_Weights", "IMAGENET1K_V1", "resnet152-394f9c45.pth", 256, False),
    ("resnet152", "ResNet152_Weights", "IMAGENET1K_V2", "resnet152-f82ba261.pth", 232, True),
    ("squeezenet1_0", "SqueezeNet1_0_Weights", "IMAGENET1K_V1", "squeezenet1_0-b66bff10.pth", 256,
     True),
    ("squeezenet1_1", "SqueezeNet1_1_Weights", "IMAGENET1K_V1", "squeezenet1_1-b8a52dc0.pth", 256,
     True),
    ("densenet121", "DenseNet121_Weights", "IMAGENET1K_V1", "densenet121-a639ec97.pth", 256, True),
    ("densenet161", "DenseNet161_Weights", "IMAGENET1K_V1", "densenet161-8d451a50.pth", 256, True),
    ("densenet169", "DenseNet169_Weights", "IMAGENET1K_V1", "densenet169-b2777c0a.pth", 256, True),
    ("densenet201", "DenseNet201_Weights", "IMAGENET1K_V1", "densenet201-c1103571.pth", 256, True),
    ("mobilenet_v2", "MobileNet_V2_Weights", "IMAGENET1K_V1", "mobilenet_v2-b0353104.pth", 256,
     False),
    ("mobilenet_v2", "MobileNet_V2_Weights", "IMAGENET1K_V2", "mobilenet_v2-7ebf99e0.pth", 232,
     True),
    ("mobilenet_v3_small", "MobileNet_V3_Small_Weights", "IMAGENET1K_V1",
     "mobilenet_v3_small-047dcff4.pth", 256, True),
    ("mobilenet_v3_large", "MobileNet_V3_Large_Weights", "IMAGENET1K_V1",
     "mobilenet_v3_large-8738ca79.pth", 256, False),
    ("mobilenet_v3_large", "MobileNet_V3_Large_Weights", "IMAGENET1K_V2",
     "mobilenet_v3_large-5c1a4163.pth", 232, True),
    ("googlenet", "GoogLeNet_Weights", "IMAGENET1K_V1", "googlenet-1378be20.pth", 256, True),
    ("shufflenet_v2_x0_5", "ShuffleNet_V2_X0_5_Weights", "IMAGENET1K_V1",
     "shufflenetv2_x0.5-f707e7126e.pth", 256, True),
    ("shufflenet_v2_x1_0", "ShuffleNet_V2_X1_0_Weights", "IMAGENET1K_V1",
     "shufflenetv2_x1-5666bf0f80.pth", 256, True),
    ("shufflenet_v2_x1_5", "ShuffleNet_V2_X1_5_Weights", "IMAGENET1K_V1",
     "shufflenetv2_x1_5-3c479a10.pth", 232, True),
    ("shufflenet_v2_x2_0", "ShuffleNet_V2_X2_0_Weights", "IMAGENET1K_V1",
     "shufflenetv2_x2_0-8be3c8ee.pth", 232, True),
)
_URL = "https://download.pytorch.org/models/"


def _make_enums():
    members: dict = {}
    for model, enum_name, member, filename, resize, default in _CHECKPOINTS:
        entry = members.setdefault(enum_name, {"_model": model, "members": {}})
        entry["members"][member] = Weights(_URL + filename, resize)
        if default:
            entry["default"] = member
    enums = {}
    for enum_name, entry in members.items():
        cls = WeightsEnum(enum_name, entry["members"], module=__name__)
        cls.DEFAULT = cls[entry["default"]]  # an alias, as torchvision's enums have
        enums[entry["_model"]] = cls
    return enums


WEIGHTS = _make_enums()  # model name -> its WeightsEnum
globals().update({cls.__name__: cls for cls in WEIGHTS.values()})
__all__ += [cls.__name__ for cls in WEIGHTS.values()]


def _no_download(weights) -> RuntimeError:
    value = weights.value
    return RuntimeError(
        f"ember does not download pretrained weights ({weights!r}: {value.url}). Build the "
        f"architecture with weights=None and load a torchvision checkpoint yourself: with torch, "
        f"`safetensors.torch.save_file(torchvision.models.<model>(weights={weights!r})"
        f".state_dict(), 'model.safetensors')`, then in ember "
        f"`model.load_state_dict(ember.load('model.safetensors'))` - the state_dict keys are "
        f"torchvision's.")


def builder(fn):
    """Register a model builder under its name and give it torchvision's keyword handling:
    ``weights`` (an enum member, its name, or None) and the deprecated ``pretrained``."""
    name = fn.__name__
    weights_enum = WEIGHTS.get(name)

    @functools.wraps(fn)
    def build(*args, weights=None, progress=True, **kwargs):
        if args:
            raise TypeError(f"{name}() takes 0 positional arguments but {len(args)} were given")
        if "pretrained" in kwargs:  # torchvision's legacy interface: True means DEFAULT
            pretrained = kwargs.pop("pretrained")
            warnings.warn("The parameter 'pretrained' is deprecated since 0.13 and may be removed "
                          "in the future, please use 'weights' instead.", UserWarning)
            if pretrained:
                weights = weights_enum.DEFAULT if weights_enum is not None else weights
        if weights is not None and weights_enum is not None:
            raise _no_download(weights_enum.verify(weights))
        return fn(**kwargs)

    _BUILDERS[name] = build
    return build


def list_models(module=None, include=None, exclude=None):
    import fnmatch
    names = sorted(_BUILDERS)
    if include:
        include = [include] if isinstance(include, str) else include
        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in include)]
    if exclude:
        exclude = [exclude] if isinstance(exclude, str) else exclude
        names = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in exclude)]
    return names


def get_model_builder(name: str):
    name = name.lower()
    try:
        return _BUILDERS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config):
    return get_model_builder(name)(**config)


def get_model_weights(name):
    key = name if isinstance(name, str) else name.__name__
    try:
        return WEIGHTS[key.lower()]
    except KeyError:
        raise ValueError(f"The model {key} has no registered weights") from None


def get_weight(name: str):
    enum_name, _, member = name.partition(".")
    for cls in WEIGHTS.values():
        if cls.__name__ == enum_name:
            return cls.verify(member)
    raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be "
                     f"retrieved.")
