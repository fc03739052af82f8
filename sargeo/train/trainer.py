"""The one trainer: a recipe's stages in order, resumable exactly, on one process or under torchrun.

Per stage: freeze the named groups, AdamW on what trains (no weight decay on gains, biases and the
temperature), linear warmup then cosine (or constant) learning rate, the task's loss, mixed precision on
a GPU. Checkpoints every ``checkpoint_every`` steps and at each stage end hold the weights and the whole
trainer state (optimiser, scheduler, scaler, random generators, position, logs, task state), so
``resume=True`` continues as if never stopped. Rank 0 writes; the others only compute.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from sargeo import __version__
from sargeo.errors import InputError
from sargeo.train.checkpoint import (
    load_checkpoint,
    prune,
    read_json,
    save_checkpoint,
    step_checkpoints,
    step_folder,
)
from sargeo.train.dataset import StreamSampler
from sargeo.train.distributed import World, barrier, close_world, init_world
from sargeo.train.freezing import freeze, train_mode
from sargeo.train.logs import plot_curves, write_csv
from sargeo.train.recipe import Recipe, Stage
from sargeo.train.run_folder import check_resume, create_run_folder
from sargeo.train.task import TaskAdapter
from sargeo.train.tasks import get_task


@dataclass
class TrainResult:
    """What a finished run wrote."""

    run_dir: Path
    steps: int
    seconds: float
    final_metrics: dict[str, float]
    main: bool = True

    def summary(self) -> str:
        """One paragraph for the CLI."""
        metrics = ", ".join(f"{k} {v:.2f}" for k, v in self.final_metrics.items())
        return (
            f"trained {self.steps} steps in {self.seconds:.0f} s; final model in {self.run_dir / 'final'}"
            + (f"\nlast evaluation: {metrics}" if metrics else "")
        )


def stage_steps(stage: Stage, n_images: int) -> int:
    """Optimiser steps of a stage (epochs count whole passes over its images)."""
    if stage.steps:
        return stage.steps
    return max(1, math.ceil(stage.epochs * n_images / stage.batch_size))


def lr_factor(step: int, total: int, stage: Stage) -> float:
    """Learning-rate multiplier at ``step``: linear warmup, then cosine to ``min_lr`` (or constant)."""
    if stage.warmup and step < stage.warmup:
        return (step + 1) / stage.warmup
    if stage.schedule == "constant":
        return 1.0
    progress = (step - stage.warmup) / max(1, total - stage.warmup)
    floor = stage.min_lr / stage.lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _optimizer(model: nn.Module, stage: Stage) -> torch.optim.Optimizer:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "logit_scale" in name else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": stage.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        [g for g in groups if g["params"]], lr=stage.lr, betas=(0.9, 0.98), eps=1e-6
    )


def _precision(recipe: Recipe, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or recipe.precision == "fp32":
        return None
    if recipe.precision == "fp16" or (
        recipe.precision == "auto" and not torch.cuda.is_bf16_supported()
    ):
        return torch.float16
    return torch.bfloat16


def _rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Runs a recipe into a run folder (see the module docstring)."""

    def __init__(
        self, recipe: Recipe, run_dir: Path, resume: bool = False, progress: bool = True
    ) -> None:
        self.recipe, self.run_dir, self.resume, self.progress = (
            recipe,
            Path(run_dir),
            resume,
            progress,
        )
        self.world: World = World()
        self.task: TaskAdapter = get_task(recipe.task)
        self.train_rows: list[dict[str, Any]] = []
        self.eval_rows: list[dict[str, Any]] = []

    # --- run folder and checkpoints ----------------------------------------------------------------

    def _meta(
        self, model: nn.Module, stage: int, stage_step: int, step: int, stage_end: bool
    ) -> dict[str, Any]:
        return {
            "task": self.recipe.task,
            "model": self.task.model_config(model).get("name", ""),
            "fingerprint": self.task.fingerprint(model),
            "recipe": self.recipe.digest(),
            "stage": stage,
            "stage_name": self.recipe.stages[min(stage, len(self.recipe.stages) - 1)].name,
            "stage_step": stage_step,
            "step": step,
            "stage_end": stage_end,
            "sargeo": __version__,
        }

    def _save(self, model: nn.Module, state: dict[str, Any], meta: dict[str, Any]) -> None:
        if not self.world.main:
            return
        save_checkpoint(
            step_folder(self.run_dir, meta["step"]),
            self.task.weights(model),
            state,
            meta,
            self.task.model_config(model),
        )
        prune(self.run_dir, self.recipe.keep_checkpoints)
        self._write_logs()

    def _write_logs(self) -> None:
        if not self.world.main:
            return
        write_csv(self.run_dir / "log.csv", self.train_rows)
        if self.eval_rows:
            write_csv(self.run_dir / "eval.csv", self.eval_rows)
        plot_curves(self.run_dir / "curves.png", self.train_rows, self.eval_rows, self.recipe.name)

    def _restore(self, model: nn.Module) -> dict[str, Any] | None:
        ckpts = step_checkpoints(self.run_dir) if self.resume else []
        if not ckpts:
            return None
        meta, _, weights, state = load_checkpoint(ckpts[-1])
        if (
            meta.get("fingerprint") != self.task.fingerprint(model)
            or meta.get("task") != self.recipe.task
        ):
            raise InputError(
                f"checkpoint {ckpts[-1]} is of another model ({meta.get('model')}); cannot resume"
            )
        self.task.load_weights(model, weights)
        if state is None:
            raise InputError(f"checkpoint {ckpts[-1]} has no trainer state; cannot resume")
        return state

    # --- the loop ----------------------------------------------------------------------------------

    def _evaluate(self, model: nn.Module, stage: Stage, step: int) -> dict[str, float]:
        cfg = self.recipe.stage_eval(stage)
        if not cfg.data or not self.world.main:
            return {}
        was_training = model.training
        metrics = self.task.evaluate(model, cfg, self.world.device)
        model.train(was_training)
        self.eval_rows.append({"step": step, "stage": stage.name, **metrics})
        return metrics

    def run(self) -> TrainResult:
        """Train every remaining stage; returns where the final model is."""
        started = time.time()
        self.world = init_world()
        try:
            return self._run(started)
        finally:
            close_world(self.world)

    def _run(self, started: float) -> TrainResult:
        recipe, world = self.recipe, self.world
        torch.set_num_threads(recipe.threads or max(1, (os.cpu_count() or 1) // world.size))
        torch.use_deterministic_algorithms(True, warn_only=True)
        _seed_everything(recipe.seed)
        # everything that can fail on bad input fails here, before the run folder exists
        if not self.resume and self.run_dir.exists():
            create_run_folder(self.run_dir, recipe, {})  # refuses, with the message for it
        model = self.task.build_model(recipe).to(world.device)
        tables = [
            len(cast(Sized, self.task.train_data(model, recipe, s, i)))
            for i, s in enumerate(recipe.stages)
        ]
        for stage in recipe.stages:
            self.task.frozen_prefixes(model, stage.freeze)
            if recipe.stage_eval(stage).data:
                self.task.check_eval_data(recipe.stage_eval(stage).data)
        if world.main:
            if self.resume:
                check_resume(self.run_dir, recipe)
            else:
                create_run_folder(self.run_dir, recipe, self.task.model_config(model))
        barrier(world)
        state = self._restore(model)
        start_stage, step = 0, 0
        if state is not None:
            start_stage, step = state["stage"], state["step"]
            _set_rng_state(state["rng"])
            self.train_rows, self.eval_rows = list(state["train_rows"]), list(state["eval_rows"])
            self.task.load_state_dict(state.get("task", {}))
        totals = [stage_steps(s, n) for s, n in zip(recipe.stages, tables, strict=True)]
        bar = tqdm(
            total=sum(totals),
            initial=step,
            disable=not (self.progress and world.main),
            unit="step",
            dynamic_ncols=True,
        )
        metrics: dict[str, float] = {}
        for index, stage in enumerate(recipe.stages):
            if index < start_stage:
                continue
            resumed = state if (state is not None and index == start_stage) else None
            step, metrics = self._stage(model, index, stage, totals[index], step, resumed, bar)
        bar.close()
        if world.main:
            final = self._meta(model, len(recipe.stages), 0, step, True)
            save_checkpoint(
                self.run_dir / "final",
                self.task.weights(model),
                None,
                final,
                self.task.model_config(model),
            )
            self._write_logs()
        barrier(world)
        return TrainResult(self.run_dir, step, time.time() - started, metrics, world.main)

    def _stage(
        self,
        model: nn.Module,
        index: int,
        stage: Stage,
        total: int,
        step: int,
        resumed: dict[str, Any] | None,
        bar: tqdm[Any],
    ) -> tuple[int, dict[str, float]]:
        recipe, world = self.recipe, self.world
        prefixes = self.task.frozen_prefixes(model, stage.freeze)
        freeze(model, prefixes)
        self.task.begin_stage(model, stage)
        dataset = self.task.train_data(model, recipe, stage, index)
        optimizer = _optimizer(model, stage)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_factor(s, total, stage)
        )
        dtype = _precision(recipe, world.device)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
        stage_step = 0
        if resumed is not None and resumed["stage_step"] > 0:
            optimizer.load_state_dict(resumed["optimizer"])
            scheduler.load_state_dict(resumed["scheduler"])
            scaler.load_state_dict(resumed["scaler"])
            stage_step = resumed["stage_step"]
        wrapped = self.task.wrap(model)
        if world.size > 1:
            ids = [world.device.index] if world.device.type == "cuda" else None
            wrapped = nn.parallel.DistributedDataParallel(wrapped, device_ids=ids)
        sampler = StreamSampler(stage_step, total, stage.batch_size, world.rank, world.size)
        loader = DataLoader(
            dataset,
            batch_size=stage.batch_size // world.size,
            sampler=sampler,
            num_workers=recipe.workers,
            collate_fn=self.task.collate,
            generator=torch.Generator().manual_seed(recipe.seed),
            persistent_workers=False,
        )
        cfg = recipe.stage_eval(stage)
        bar.set_description(f"{stage.name}")
        metrics: dict[str, float] = {}
        tick = time.perf_counter()
        for batch in loader:
            fetched = time.perf_counter()
            train_mode(model, prefixes)
            with torch.autocast(
                world.device.type, dtype=dtype or torch.float32, enabled=dtype is not None
            ):
                loss, extra = self.task.loss(wrapped, model, batch, world.device)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            self.task.after_step(model)
            stage_step += 1
            step += 1
            done = time.perf_counter()
            if stage_step % recipe.log_every == 0 or stage_step == total:
                self.train_rows.append(
                    {
                        "step": step,
                        "stage": stage.name,
                        "stage_step": stage_step,
                        "epoch": round(
                            stage_step * stage.batch_size / len(cast(Sized, dataset)), 3
                        ),
                        "loss": float(loss.detach()),
                        "lr": optimizer.param_groups[0]["lr"],
                        **extra,
                        "samples_per_s": stage.batch_size / max(1e-9, done - tick),
                        "data_s": fetched - tick,
                        "compute_s": done - fetched,
                    }
                )
                if (
                    world.main
                ):  # rewritten from the rows, so a resume drops rows after its checkpoint
                    write_csv(self.run_dir / "log.csv", self.train_rows)
            bar.set_postfix(
                loss=f"{float(loss.detach()):.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}"
            )
            bar.update(1)
            if cfg.every and stage_step % cfg.every == 0 and stage_step < total:
                metrics = self._evaluate(model, stage, step) or metrics
            at_end = stage_step == total
            if at_end or (recipe.checkpoint_every and step % recipe.checkpoint_every == 0):
                if at_end:
                    metrics = self._evaluate(model, stage, step) or metrics
                position = (index + 1, 0) if at_end else (index, stage_step)
                state = {
                    "stage": position[0],
                    "stage_step": position[1],
                    "step": step,
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "rng": _rng_state(),
                    "train_rows": self.train_rows,
                    "eval_rows": self.eval_rows,
                    "task": self.task.state_dict(),
                }
                self._save(model, state, self._meta(model, position[0], position[1], step, at_end))
                barrier(world)
            tick = time.perf_counter()
        return step, metrics


def train(
    recipe: Recipe, run_dir: Path, resume: bool = False, progress: bool = True
) -> TrainResult:
    """Run ``recipe`` into ``run_dir`` (``resume``: continue its newest checkpoint)."""
    return Trainer(recipe, run_dir, resume=resume, progress=progress).run()


def run_recipe_of(run_dir: Path) -> dict[str, Any]:
    """The recipe a run folder was made with."""
    return read_json(Path(run_dir) / "recipe.json")
