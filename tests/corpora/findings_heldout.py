"""Held-out chest-radiograph report sentences with the findings a reader would label, for the report labeler.

Provenance: written by hand for this corpus by an engineer who had not read the labeler's
code, its vocabulary or its tests; phrasing is taken from general knowledge of how
radiologists write (terse emergency reads, templated normals, British spelling,
abbreviations, numbered impressions, hedges, interval-change language), not from what the
labeler is known to handle. All text is synthetic: no patient, date or identifier.

Labels follow the CheXpert convention: "positive", "negative" or "uncertain" for each
finding the text mentions; a finding not listed is not mentioned. Hedged wording
("may", "possible", "cannot be excluded", "questionable", "suspicious for", "likely")
is uncertain; a finding described as resolved or no longer seen is negative; "stable",
"unchanged" or "again seen" is still positive. Finding names are CheXpert's, in
snake_case: pneumothorax, pleural_effusion, cardiomegaly, edema, consolidation,
pneumonia, atelectasis, fracture, support_devices, lung_lesion.
"""

from __future__ import annotations

__all__ = ["FINDINGS", "REPORTS"]

FINDINGS = ("pneumothorax", "pleural_effusion", "cardiomegaly", "edema", "consolidation", "pneumonia",
            "atelectasis", "fracture", "support_devices", "lung_lesion")

P, N, U = "positive", "negative", "uncertain"

REPORTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("Lungs are clear. No ptx. Heart size normal.", {"pneumothorax": N, "cardiomegaly": N}),
    ("Small apical pneumothorax on the right, new since the prior film.", {"pneumothorax": P}),
    ("Tiny left apical PTX.", {"pneumothorax": P}),
    ("Right chest tube in place; the pneumothorax has resolved.", {"support_devices": P, "pneumothorax": N}),
    ("There is no evidence of pneumothorax or pleural effusion.", {"pneumothorax": N, "pleural_effusion": N}),
    ("Blunting of the left costophrenic angle, which may represent a small effusion.", {"pleural_effusion": U}),
    ("Bilateral pleural effusions, larger on the right.", {"pleural_effusion": P}),
    ("Moderate cardiomegaly with pulmonary vascular congestion and interstitial oedema.",
     {"cardiomegaly": P, "edema": P}),
    ("The cardiac silhouette is enlarged.", {"cardiomegaly": P}),
    ("Heart is top-normal in size.", {"cardiomegaly": N}),
    ("Mild pulmonary edema, improved compared with yesterday.", {"edema": P}),
    ("No focal consolidation to suggest pneumonia.", {"consolidation": N, "pneumonia": N}),
    ("Patchy right lower lobe opacity; pneumonia cannot be excluded.", {"pneumonia": U}),
    ("Right lower lobe consolidation consistent with pneumonia.", {"consolidation": P, "pneumonia": P}),
    ("Left basilar opacity, likely atelectasis.", {"atelectasis": U}),
    ("Linear atelectasis at the left base.", {"atelectasis": P}),
    ("Bibasilar subsegmental atelectasis. Otherwise clear.", {"atelectasis": P}),
    ("Endotracheal tube terminates 4 cm above the carina. Nasogastric tube courses below the diaphragm.",
     {"support_devices": P}),
    ("Right internal jugular central venous catheter with tip in the SVC.", {"support_devices": P}),
    ("Left-sided pacemaker with leads in the right atrium and ventricle.", {"support_devices": P}),
    ("Acute displaced fracture of the left seventh rib.", {"fracture": P}),
    ("No acute osseous abnormality. No displaced rib fracture.", {"fracture": N}),
    ("Old healed right rib fractures.", {"fracture": P}),
    ("8 mm nodule in the right upper lobe; CT recommended.", {"lung_lesion": P}),
    ("A rounded mass projects over the left hilum.", {"lung_lesion": P}),
    ("No suspicious pulmonary nodule or mass.", {"lung_lesion": N}),
    ("Questionable small nodular opacity at the left apex, possibly a vessel end-on.", {"lung_lesion": U}),
    ("IMPRESSION: 1. No acute cardiopulmonary process.", {}),
    ("IMPRESSION:\n1. Small left pleural effusion.\n2. No pneumothorax.",
     {"pleural_effusion": P, "pneumothorax": N}),
    ("Findings suspicious for early pneumonia in the lingula.", {"pneumonia": U}),
    ("Interval resolution of the previously seen right pleural effusion.", {"pleural_effusion": N}),
    ("The left pneumothorax is no longer seen.", {"pneumothorax": N}),
    ("Stable small right pneumothorax.", {"pneumothorax": P}),
    ("Unchanged moderate cardiomegaly.", {"cardiomegaly": P}),
    ("Haziness at the bases could reflect mild oedema or atelectasis.", {"edema": U, "atelectasis": U}),
    ("Without pleural effusion or pneumothorax.", {"pleural_effusion": N, "pneumothorax": N}),
    ("The heart is not enlarged.", {"cardiomegaly": N}),
    ("Pneumothorax is not identified.", {"pneumothorax": N}),
    ("No pneumothorax, but there is a small right effusion.", {"pneumothorax": N, "pleural_effusion": P}),
    ("Negative for pneumothorax.", {"pneumothorax": N}),
    ("Evaluate for pneumothorax: none seen.", {"pneumothorax": N}),
    ("Large left tension pneumothorax with mediastinal shift.", {"pneumothorax": P}),
    ("Right middle lobe airspace disease concerning for pneumonia.", {"pneumonia": U}),
    ("Findings compatible with congestive heart failure: cardiomegaly, effusions and interstitial edema.",
     {"cardiomegaly": P, "pleural_effusion": P, "edema": P}),
    ("Clear lungs without consolidation, effusion or edema.",
     {"consolidation": N, "pleural_effusion": N, "edema": N}),
    ("Possible trace left effusion.", {"pleural_effusion": U}),
    ("Cannot exclude a small pneumothorax given the supine technique.", {"pneumothorax": U}),
    ("There is a left lower lobe collapse.", {"atelectasis": P}),
    ("Dense consolidation of the right upper lobe.", {"consolidation": P}),
    ("No radiographic evidence of acute fracture.", {"fracture": N}),
    ("Heart size at the upper limit of normal; no edema.", {"edema": N}),
    ("Pleural effusion has decreased but persists.", {"pleural_effusion": P}),
    ("Resolved right lower lobe pneumonia.", {"pneumonia": N}),
    ("Enlarged heart. Small bilateral effusions. No pneumothorax.",
     {"cardiomegaly": P, "pleural_effusion": P, "pneumothorax": N}),
    ("Rib fracture is suspected on the right but not confirmed.", {"fracture": U}),
    ("Free of focal airspace consolidation.", {"consolidation": N}),
    ("Appearances may represent an evolving infective consolidation.", {"consolidation": U}),
    ("Persistent right apical pneumothorax despite the drain.", {"pneumothorax": P, "support_devices": P}),
    ("Nodules are not seen.", {"lung_lesion": N}),
)
