"""A CIFAR-10-style training augmentation pipeline, as the torchvision tutorials write it:
RandomResizedCrop + RandomHorizontalFlip + ColorJitter + ToTensor + Normalize (and an
AutoAugment variant), applied to generated PIL images with a fixed seed; prints statistics of
the augmented batch and of a few drawn parameters."""
import numpy as np
import torch
import torchvision.transforms as transforms
import torchvision.transforms.functional as TF
from PIL import Image

torch.manual_seed(0)
rng = np.random.default_rng(0)


def make_image(i):
    """A 32x32 RGB image: smooth colour gradients plus noise (stands in for a CIFAR sample)."""
    y, x = np.mgrid[0:32, 0:32]
    base = np.stack([(x * 7 + i * 13) % 256, (y * 5 + i * 29) % 256, ((x + y) * 3 + i * 41) % 256], -1)
    noise = rng.integers(0, 40, (32, 32, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


images = [make_image(i) for i in range(8)]

mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
train_transform = transforms.Compose([
    transforms.RandomResizedCrop(24, scale=(0.5, 1.0)),
    transforms.RandomHorizontalFlip(),
    transforms.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
    transforms.ToTensor(),
    transforms.Normalize(mean, std),
])
print(train_transform)

batch = torch.stack([train_transform(img) for img in images])
print("batch", tuple(batch.shape), batch.dtype)
print("mean per channel", [round(v, 4) for v in batch.mean(dim=(0, 2, 3)).tolist()])
print("std per channel", [round(v, 4) for v in batch.std(dim=(0, 2, 3)).tolist()])
print("min/max", round(batch.min().item(), 4), round(batch.max().item(), 4))
print("first pixels", [round(v, 4) for v in batch[0, :, 0, 0].tolist()])

# the parameters the pipeline draws, as a tutorial would inspect them
print("crop params", transforms.RandomResizedCrop.get_params(images[0], (0.5, 1.0), (3 / 4, 4 / 3)))
order, b, c, s, h = transforms.ColorJitter.get_params((0.6, 1.4), (0.6, 1.4), (0.6, 1.4), (-0.1, 0.1))
print("jitter order", order.tolist(), "factors", [round(v, 4) for v in (b, c, s, h)])

# an AutoAugment (CIFAR10 policy) + RandomErasing variant on uint8 tensors
auto = transforms.Compose([
    transforms.PILToTensor(),
    transforms.AutoAugment(transforms.AutoAugmentPolicy.CIFAR10),
    transforms.ConvertImageDtype(torch.float32),
    transforms.RandomErasing(p=0.5, value="random"),
])
aug = torch.stack([auto(img) for img in images])
print("autoaugment batch", tuple(aug.shape), "sum", round(aug.sum().item(), 2))
print("per-image means", [round(v, 4) for v in aug.mean(dim=(1, 2, 3)).tolist()])

# functional ops on a tensor batch, the "augment on the GPU batch" style
x = torch.stack([TF.pil_to_tensor(img) for img in images[:4]])
rotated = TF.rotate(x, 15.0, interpolation=transforms.InterpolationMode.BILINEAR)
blurred = TF.gaussian_blur(x.float() / 255, [5, 5], [1.2, 1.2])
print("rotated sum", rotated.sum().item(), "blurred mean", round(blurred.mean().item(), 5))
print("equalize sum", TF.equalize(x).sum().item(), "posterize sum", TF.posterize(x, 3).sum().item())
