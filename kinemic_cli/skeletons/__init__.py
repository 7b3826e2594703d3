"""Skeletons as data (:mod:`.skeleton`), the built-in ones (:mod:`.builtin`) and joint maps between them (:mod:`.joint_maps`)."""

from .builtin import NTU25, OPENPOSE18, SMPL22
from .joint_maps import JointMap, convert_joints, get_joint_map, project_to_image, register_joint_map
from .skeleton import Skeleton, get_skeleton, list_skeletons, register_skeleton, skeleton_from_yaml

__all__ = ["Skeleton", "register_skeleton", "get_skeleton", "list_skeletons", "skeleton_from_yaml", "SMPL22", "NTU25",
           "OPENPOSE18", "JointMap", "register_joint_map", "get_joint_map", "convert_joints", "project_to_image"]
